-- Partitioning trend_snapshots by month, 3 of 3: swap in the partitioned table, in one transaction of
-- statements that each hold their lock only for a moment (a rename, new empty tables, an attach whose bound
-- 004 proved and whose indexes exist already), so readers and writers wait briefly and never miss the table.
-- The primary key becomes (id, observed_at): a partitioned table's keys include its partition key. Snapshot
-- ids stay unique in practice (derived from the event id; the inbox keeps events from being stored twice).
ALTER TABLE trend_snapshots RENAME TO trend_snapshots_legacy;
-- Its primary key on id alone gives way to (id, observed_at) on the index 004 built: ATTACH reuses a
-- partition's index for the parent's key only when that index already backs a constraint, else it builds one.
ALTER TABLE trend_snapshots_legacy
    DROP CONSTRAINT trend_snapshots_pkey,
    ADD CONSTRAINT trend_snapshots_legacy_pkey PRIMARY KEY USING INDEX trend_snapshots_id_observed_key;
CREATE TABLE trend_snapshots (LIKE trend_snapshots_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (observed_at);
ALTER TABLE trend_snapshots ADD PRIMARY KEY (id, observed_at);
-- Momentum reads one keyword's recent history on one marketplace; retention finds old rows by time.
CREATE INDEX trend_snapshots_history_idx ON trend_snapshots (marketplace, lower(keyword), observed_at DESC);
CREATE INDEX trend_snapshots_observed_at_idx ON trend_snapshots (observed_at);
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE trend_snapshots ATTACH PARTITION trend_snapshots_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
        (SELECT legacy_until FROM trend_snapshot_partitioning));
END $$;
CREATE TABLE trend_snapshots_default PARTITION OF trend_snapshots DEFAULT;

-- Monthly partitions (UTC months from legacy_until on) are created ahead of time (service start, retention
-- job); rows outside them land in the default partition rather than failing.
CREATE FUNCTION ensure_trend_snapshot_partitions(from_month date DEFAULT current_date, months int DEFAULT 3)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    created int := 0;
    first_month timestamptz;
    start_at timestamptz;
    part text;
BEGIN
    first_month := greatest(date_trunc('month', from_month::timestamp) AT TIME ZONE 'UTC',
                            (SELECT legacy_until FROM trend_snapshot_partitioning));
    FOR i IN 0 .. months - 1 LOOP
        start_at := ((first_month AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
        part := format('trend_snapshots_%s', to_char(start_at AT TIME ZONE 'UTC', 'YYYY_MM'));
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF trend_snapshots FOR VALUES FROM (%L) TO (%L)',
                           part, start_at,
                           ((start_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

SELECT ensure_trend_snapshot_partitions(current_date, 3);
