-- 0009: a claim is not an attempt until the item is started; suspicious capture dates.
--
-- stage_jobs.started_at: set (with attempts + 1) when the worker starts the item, not when it
-- claims it. A dead worker's claims that were never started go back to pending without costing
-- an attempt; only started ones count towards max_attempts (and end as failed / worker_lost).
ALTER TABLE stage_jobs ADD COLUMN started_at timestamptz;
ALTER TABLE stage_jobs ADD CONSTRAINT stage_jobs_started_only_when_claimed
    CHECK (started_at IS NULL OR state = 'claimed');

-- A capture date to review: a camera's default clock, an epoch, or an implausible file time
-- replaced by the time the file was first seen. The librarian writes the reason as the
-- PF:SuspiciousDate metadata entry; the column follows it, whichever code inserted the row.
ALTER TABLE media_assets ADD COLUMN date_suspicious boolean
    GENERATED ALWAYS AS (metadata ? 'PF:SuspiciousDate') STORED;
CREATE INDEX media_assets_date_suspicious ON media_assets (capture_date) WHERE date_suspicious;
