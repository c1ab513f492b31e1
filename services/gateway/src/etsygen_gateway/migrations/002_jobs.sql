-- Research jobs, their keywords with per-stage status, each generator outcome, and the job timeline.
CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    owner_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status          text        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'partially_failed', 'failed', 'cancelled')),
    status_reason   text,
    marketplace     text        NOT NULL,
    listing_budget  integer     NOT NULL,
    generation      jsonb       NOT NULL,
    keyword_count   integer     NOT NULL,
    keywords_finished integer   NOT NULL DEFAULT 0,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- Listing a user's jobs newest first (keyset on created_at, id), optionally by status.
CREATE INDEX jobs_owner_created_idx ON jobs (owner_id, created_at DESC, id DESC);
CREATE INDEX jobs_owner_status_created_idx ON jobs (owner_id, status, created_at DESC, id DESC);
-- A retried POST with the same Idempotency-Key returns the job it created.
CREATE UNIQUE INDEX jobs_owner_idempotency_idx ON jobs (owner_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE job_keywords (
    job_id            uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    keyword           text        NOT NULL,
    position          integer     NOT NULL,
    status            text        NOT NULL DEFAULT 'pending',
    scrape_status     text        NOT NULL DEFAULT 'pending',
    analyze_status    text        NOT NULL DEFAULT 'pending',
    generate_status   text        NOT NULL DEFAULT 'pending',
    expected_concepts integer,
    generated         integer     NOT NULL DEFAULT 0,
    rejected          integer     NOT NULL DEFAULT 0,
    failed_outcomes   integer     NOT NULL DEFAULT 0,
    error             text,
    trend_id          text,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, keyword)
);

-- One row per generator outcome, so a redelivered or re-emitted outcome is counted once.
CREATE TABLE keyword_outcomes (
    job_id        uuid        NOT NULL,
    keyword       text        NOT NULL,
    concept_index integer     NOT NULL,
    outcome       text        NOT NULL CHECK (outcome IN ('generated', 'rejected')),
    reason        text,
    product_id    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, keyword, concept_index),
    FOREIGN KEY (job_id, keyword) REFERENCES job_keywords (job_id, keyword) ON DELETE CASCADE
);

CREATE TABLE job_events (
    id         bigserial PRIMARY KEY,
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    keyword    text,
    kind       text        NOT NULL,
    detail     jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A job's timeline in order (also what SSE resumes from with Last-Event-ID).
CREATE INDEX job_events_job_idx ON job_events (job_id, id);
