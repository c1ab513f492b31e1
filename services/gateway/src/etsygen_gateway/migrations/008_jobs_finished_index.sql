-- etsygen:no-transaction
-- Retention picks the jobs finished before its cutoff. jobs is a live table, so the index is built
-- CONCURRENTLY (outside a transaction). A build that failed half-way leaves an INVALID index that
-- IF NOT EXISTS would keep; this file is only run again after such a failure, so it drops that one first.
DROP INDEX CONCURRENTLY IF EXISTS jobs_finished_idx;
CREATE INDEX CONCURRENTLY jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
