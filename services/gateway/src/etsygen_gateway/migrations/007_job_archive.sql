-- The job archive: jobs finished more than GATEWAY_JOB_ARCHIVE_AFTER_DAYS ago move here with their keywords
-- and timeline (etsygen retention run), off the tables every projection and listing works on. GET
-- /v1/jobs/{id} and its timeline still read them. Generator outcomes are not kept: they only deduplicate
-- outcomes still arriving, and nothing arrives for a job finished that long ago.
CREATE TABLE jobs_archive (LIKE jobs INCLUDING CONSTRAINTS);
ALTER TABLE jobs_archive
    ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE job_keywords_archive (LIKE job_keywords);
ALTER TABLE job_keywords_archive
    ADD PRIMARY KEY (job_id, keyword),
    ADD FOREIGN KEY (job_id) REFERENCES jobs_archive (id) ON DELETE CASCADE;

CREATE TABLE job_events_archive (LIKE job_events);
ALTER TABLE job_events_archive
    ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (job_id) REFERENCES jobs_archive (id) ON DELETE CASCADE;
CREATE INDEX job_events_archive_job_idx ON job_events_archive (job_id, id);

-- Retention of sessions, invitations and dead letters runs in code (service_layer.retention: batched, with
-- a dry run, a log line and a metric per step); these functions would be a second copy of its rules.
DROP FUNCTION IF EXISTS prune_sessions();
DROP FUNCTION IF EXISTS prune_dead_letters(interval);
