-- etsygen:no-transaction
-- The trends list shows one row per keyword of an owner: its latest run (newest created_at, then id). The
-- projection keeps exactly one latest row per (owner, keyword) under a per-keyword lock; the backfill marks
-- the older runs of what is stored already. Every statement can run again after a failure half-way.
ALTER TABLE trends ADD COLUMN IF NOT EXISTS latest boolean NOT NULL DEFAULT true;
UPDATE trends AS older SET latest = false
WHERE latest AND EXISTS (
    SELECT 1 FROM trends AS newer
    WHERE newer.owner_id = older.owner_id AND lower(newer.keyword) = lower(older.keyword)
      AND (newer.created_at, newer.id) > (older.created_at, older.id)
);
-- trends is a live table, so its indexes are built CONCURRENTLY; a build that failed half-way leaves an
-- INVALID index that IF NOT EXISTS would keep, so this file drops those first when it runs again.
DROP INDEX CONCURRENTLY IF EXISTS trends_owner_latest_created_idx;
CREATE INDEX CONCURRENTLY trends_owner_latest_created_idx ON trends (owner_id, created_at DESC, id DESC)
    WHERE latest;
DROP INDEX CONCURRENTLY IF EXISTS trends_owner_latest_score_idx;
CREATE INDEX CONCURRENTLY trends_owner_latest_score_idx ON trends (owner_id, score DESC, id DESC)
    WHERE latest;
