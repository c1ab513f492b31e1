-- Why a keyword is waiting (a consumer's KeywordWaiting), until when; cleared by the keyword's next
-- progress. The stall sweep does not count a keyword as stalled before its resume_at.
ALTER TABLE job_keywords ADD COLUMN waiting_reason text;
ALTER TABLE job_keywords ADD COLUMN waiting_detail text;
ALTER TABLE job_keywords ADD COLUMN resume_at timestamptz;
-- Archived keywords keep every column of the live ones.
ALTER TABLE job_keywords_archive ADD COLUMN waiting_reason text;
ALTER TABLE job_keywords_archive ADD COLUMN waiting_detail text;
ALTER TABLE job_keywords_archive ADD COLUMN resume_at timestamptz;
