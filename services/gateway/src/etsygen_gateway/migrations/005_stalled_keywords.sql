-- Stalled work: how often a keyword was re-driven, and the sweep's hot query (unfinished keywords by age).
ALTER TABLE job_keywords ADD COLUMN redrives integer NOT NULL DEFAULT 0;
CREATE INDEX job_keywords_unfinished_idx ON job_keywords (updated_at)
    WHERE status NOT IN ('succeeded', 'partially_failed', 'failed');
