-- What a keyword's generation ended with and why, shown on the job (the timeline keeps every step): the best
-- outcome among its concepts (new_product, existing_product, no_concept, failed), the reason in words of the
-- latest concept that got none, and the owner's product a duplicate concept links to.
ALTER TABLE job_keywords ADD COLUMN outcome text;
ALTER TABLE job_keywords ADD COLUMN reason text;
ALTER TABLE job_keywords ADD COLUMN existing_product_id text;
-- Archived keywords keep every column of the live ones.
ALTER TABLE job_keywords_archive ADD COLUMN outcome text;
ALTER TABLE job_keywords_archive ADD COLUMN reason text;
ALTER TABLE job_keywords_archive ADD COLUMN existing_product_id text;
