-- Owner-scoped read models projected from the pipeline's events.
CREATE TABLE trends (
    id          text PRIMARY KEY,             -- the analyzer's snapshot id
    owner_id    uuid        NOT NULL,
    job_id      uuid,
    keyword     text        NOT NULL,
    marketplace text        NOT NULL,
    score       double precision NOT NULL,
    confidence  double precision NOT NULL,
    risk        text        NOT NULL,
    event_id    text        NOT NULL,
    payload     jsonb       NOT NULL,          -- the TrendScored event as received
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Listing by recency and by score, and a keyword's history, always within one owner.
CREATE INDEX trends_owner_created_idx ON trends (owner_id, created_at DESC, id DESC);
CREATE INDEX trends_owner_score_idx ON trends (owner_id, score DESC, id DESC);
CREATE INDEX trends_owner_keyword_idx ON trends (owner_id, lower(keyword), created_at DESC);

CREATE TABLE products (
    id                text PRIMARY KEY,        -- the generator's product id
    owner_id          uuid        NOT NULL,
    job_id            uuid,
    keyword           text        NOT NULL,
    title             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'publish_requested', 'published')),
    price             double precision NOT NULL,
    currency          text        NOT NULL,
    score             double precision,
    risk              text,
    payload           jsonb       NOT NULL,    -- the ProductGenerated event as received
    shop_id           bigint,
    remote_listing_id bigint,
    listing_url       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_owner_created_idx ON products (owner_id, created_at DESC, id DESC);
CREATE INDEX products_owner_status_created_idx ON products (owner_id, status, created_at DESC, id DESC);
