-- One row per keyword and scoring run: the analyzer's history, from which momentum is computed.
CREATE TABLE trend_snapshots (
    id           uuid PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,   -- ce_id of the ListingsScraped that caused it
    job_id       text        NOT NULL,
    owner_id     text        NOT NULL,
    marketplace  text        NOT NULL,
    keyword      text        NOT NULL,
    observed_at  timestamptz NOT NULL,
    score        double precision NOT NULL,
    confidence   double precision NOT NULL,
    risk         text        NOT NULL,
    sales_mid    double precision,
    total_count  integer     NOT NULL,
    listing_count integer    NOT NULL,
    result       jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- Momentum reads one keyword's recent history on one marketplace.
CREATE INDEX trend_snapshots_keyword_idx ON trend_snapshots (marketplace, lower(keyword), observed_at DESC);
