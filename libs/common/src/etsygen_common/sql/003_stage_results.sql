-- What a pipeline stage produced for one job's keyword: a re-drive of that keyword (a stall or a broker that
-- lost its records) is answered by re-emitting it with new event ids instead of redoing the stage's work
-- (Etsy calls, AI calls). One row per consumer group, job and keyword; a later real run replaces it.
CREATE TABLE stage_results (
    consumer_group text        NOT NULL,
    job_id         text        NOT NULL,
    keyword        text        NOT NULL,
    attempt        integer     NOT NULL,
    events         bytea       NOT NULL,   -- JSON: [{"type": <topic>, "body": <event>}...]
    stored_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, job_id, keyword)
);
-- Retention: results older than the re-drive horizon.
CREATE INDEX stage_results_stored_at_idx ON stage_results (stored_at);
