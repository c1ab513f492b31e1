-- Scrape runs, append-only listing snapshots (partitioned by month), shop snapshots.
CREATE TABLE scrape_runs (
    id           uuid PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,     -- ce_id of the KeywordScrapeRequested it handled
    job_id       text        NOT NULL,
    owner_id     text        NOT NULL,
    keyword      text        NOT NULL,
    marketplace  text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('ok', 'failed')),
    error        text,
    total_count  integer     NOT NULL DEFAULT 0,
    listings     integer     NOT NULL DEFAULT 0,
    api_calls    integer     NOT NULL DEFAULT 0,
    synthetic    boolean     NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scrape_runs_job_idx ON scrape_runs (job_id);
CREATE INDEX scrape_runs_finished_idx ON scrape_runs (finished_at);

-- One snapshot per listing and observation day: a job run twice on a day stores nothing twice.
CREATE TABLE listing_snapshots (
    listing_id     bigint      NOT NULL,
    observed_on    date        NOT NULL,
    observed_at    timestamptz NOT NULL,
    scrape_run_id  uuid        NOT NULL,
    keyword        text        NOT NULL,
    shop_id        bigint      NOT NULL,
    title          text        NOT NULL,
    price          numeric(12, 2) NOT NULL,
    currency       text        NOT NULL,
    tags           text[]      NOT NULL,
    taxonomy_id    integer,
    num_favorers   integer     NOT NULL,
    views          integer,
    created_at     timestamptz,
    reviews_in_window integer,
    rating         real,
    PRIMARY KEY (listing_id, observed_on)
) PARTITION BY RANGE (observed_on);
CREATE INDEX listing_snapshots_keyword_idx ON listing_snapshots (lower(keyword), observed_on);
CREATE TABLE listing_snapshots_default PARTITION OF listing_snapshots DEFAULT;

CREATE TABLE shop_snapshots (
    shop_id                bigint      NOT NULL,
    observed_on            date        NOT NULL,
    observed_at            timestamptz NOT NULL,
    shop_name              text        NOT NULL,
    transaction_sold_count integer     NOT NULL,
    review_average         real,
    review_count           integer     NOT NULL,
    num_favorers           integer     NOT NULL,
    listing_active_count   integer     NOT NULL,
    PRIMARY KEY (shop_id, observed_on)
);
CREATE INDEX shop_snapshots_observed_idx ON shop_snapshots (observed_on);

-- Monthly partitions are created ahead of time (service start, retention job); rows outside them land in
-- the default partition rather than failing.
CREATE FUNCTION ensure_listing_snapshot_partitions(from_month date DEFAULT current_date, months int DEFAULT 3)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    created int := 0;
    start_on date;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        start_on := (date_trunc('month', from_month) + make_interval(months => i))::date;
        part := format('listing_snapshots_%s', to_char(start_on, 'YYYY_MM'));
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF listing_snapshots FOR VALUES FROM (%L) TO (%L)',
                           part, start_on, (start_on + interval '1 month')::date);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Retention: keep `keep` of scrape results; whole monthly partitions past the window are dropped.
CREATE FUNCTION cleanup_old_scrape_results(keep interval DEFAULT interval '90 days')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (now() - keep)::date;
    removed bigint := 0;
    n bigint;
    part record;
    upper_bound date;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace ns ON ns.oid = p.relnamespace
        WHERE p.relname = 'listing_snapshots' AND ns.nspname = current_schema()
          AND c.relname ~ '^listing_snapshots_\d{4}_\d{2}$'
    LOOP
        upper_bound := (to_date(right(part.relname, 7), 'YYYY_MM') + interval '1 month')::date;
        IF upper_bound <= cutoff THEN
            EXECUTE format('SELECT count(*) FROM %I', part.relname) INTO n;
            EXECUTE format('DROP TABLE %I', part.relname);
            removed := removed + n;
        END IF;
    END LOOP;
    DELETE FROM listing_snapshots WHERE observed_on < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed + n;
    DELETE FROM shop_snapshots WHERE observed_on < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed + n;
    DELETE FROM scrape_runs WHERE finished_at < now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN removed + n;
END $$;

SELECT ensure_listing_snapshot_partitions(current_date, 3);
