-- Retention of snapshots and scrape runs runs in code (service_layer.retention: whole partitions dropped,
-- batched deletes, a dry run, a log line and a metric per step); this function would be a second copy.
DROP FUNCTION IF EXISTS cleanup_old_scrape_results(interval);
