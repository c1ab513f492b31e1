-- etsygen:no-transaction
-- Partitioning trend_snapshots by month, 2 of 3: prove the legacy bound (VALIDATE takes a lock that lets
-- reads and writes go on) and build, without blocking writes, the unique index on (id, observed_at) that the
-- partitioned table's primary key will use on the legacy partition. A build that failed half-way leaves an
-- INVALID index; this file only runs again after such a failure, so it drops that one first.
ALTER TABLE trend_snapshots VALIDATE CONSTRAINT trend_snapshots_legacy_bound;
DROP INDEX CONCURRENTLY IF EXISTS trend_snapshots_id_observed_key;
CREATE UNIQUE INDEX CONCURRENTLY trend_snapshots_id_observed_key ON trend_snapshots (id, observed_at);
