-- Partitioning trend_snapshots by month, 1 of 3, so that retention drops whole months instead of deleting
-- rows. The rows stored so far become one partition, trend_snapshots_legacy, holding everything observed
-- before legacy_until (the first of the month after next, UTC); later months get partitions of their own.
-- Attaching a table as a partition scans it under an exclusive lock unless a validated CHECK already proves
-- its bound, so the bound is added NOT VALID here (a brief lock, no scan), validated by 004 while reads and
-- writes go on, and 005 only renames and attaches. (Copying the rows into a new partitioned table would
-- rewrite them all under lock.)
CREATE TABLE trend_snapshot_partitioning (
    legacy_until timestamptz NOT NULL
);
INSERT INTO trend_snapshot_partitioning (legacy_until)
    SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months') AT TIME ZONE 'UTC';
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE trend_snapshots ADD CONSTRAINT trend_snapshots_legacy_bound CHECK (observed_at < %L) NOT VALID',
        (SELECT legacy_until FROM trend_snapshot_partitioning));
END $$;
