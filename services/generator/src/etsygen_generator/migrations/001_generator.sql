-- Products (concepts that passed validation and guards), AI usage per call, marketplace drafts.
CREATE TABLE products (
    product_id     uuid PRIMARY KEY,            -- deterministic from the trend event and concept index
    owner_id       text        NOT NULL,
    job_id         text        NOT NULL,
    keyword        text        NOT NULL,
    concept_index  integer     NOT NULL,
    title          text        NOT NULL,
    tags           text[]      NOT NULL,
    body           jsonb       NOT NULL,        -- the full ProductGenerated event
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- Near-duplicate guard reads the owner's recent products.
CREATE INDEX products_owner_created_idx ON products (owner_id, created_at DESC);
CREATE INDEX products_job_idx ON products (job_id);

CREATE TABLE ai_usage (
    id                bigserial PRIMARY KEY,
    owner_id          text        NOT NULL,
    job_id            text,
    provider          text        NOT NULL,
    model             text        NOT NULL,
    prompt_tokens     integer     NOT NULL,
    completion_tokens integer     NOT NULL,
    cost_usd          numeric(12, 6) NOT NULL,
    latency_ms        double precision NOT NULL,
    outcome           text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
-- Daily budget check: an owner's usage today.
CREATE INDEX ai_usage_owner_day_idx ON ai_usage (owner_id, created_at);

CREATE TABLE publications (
    product_id         uuid PRIMARY KEY REFERENCES products (product_id),
    owner_id           text        NOT NULL,
    shop_id            bigint      NOT NULL,
    remote_listing_id  bigint      NOT NULL,
    state              text        NOT NULL,
    requested_by       text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_tokens (
    user_id        bigint PRIMARY KEY,
    access_token   text        NOT NULL,
    refresh_token  text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
