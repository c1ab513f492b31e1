-- Re-drives after the broker lost records are counted apart from stall re-drives: they are the platform
-- recovering, not the keyword failing, so they never use up a keyword's stall re-drives.
ALTER TABLE job_keywords ADD COLUMN broker_redrives integer NOT NULL DEFAULT 0;
-- Archived keywords keep every column of the live ones.
ALTER TABLE job_keywords_archive ADD COLUMN broker_redrives integer NOT NULL DEFAULT 0;
