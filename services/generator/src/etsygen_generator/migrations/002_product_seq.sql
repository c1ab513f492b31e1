-- The near-duplicate guard keeps each owner's newest products in memory and reads only what was stored
-- since (seq > N). Products of one owner are stored one transaction at a time (an advisory lock), so seq
-- grows in commit order for each owner; created_at (the transaction's start) does not.
ALTER TABLE products ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX products_owner_seq_idx ON products (owner_id, seq DESC);
DROP INDEX products_owner_created_idx;
