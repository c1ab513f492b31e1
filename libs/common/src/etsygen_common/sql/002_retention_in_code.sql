-- Retention of the outbox and inbox runs in code (etsygen_common.retention: batched, with a dry run, a log
-- line and a metric per step); the function of 001 was never called and would be a second copy of its rules.
DROP FUNCTION IF EXISTS prune_outbox_inbox(interval);
