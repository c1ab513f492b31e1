-- etsygen:no-transaction
-- Retention deletes trend snapshots observed before its cutoff. trend_snapshots is a live table, so the
-- index is built CONCURRENTLY (outside a transaction). A build that failed half-way leaves an INVALID
-- index that IF NOT EXISTS would keep; this file only runs again after such a failure, so it drops it first.
DROP INDEX CONCURRENTLY IF EXISTS trend_snapshots_observed_idx;
CREATE INDEX CONCURRENTLY trend_snapshots_observed_idx ON trend_snapshots (observed_at);
