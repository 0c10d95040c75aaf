-- 0010: what a restore closes in the restored catalogue because it cannot be true any more.
-- A backup run or drill that was still running when the dump was taken ends 'interrupted'; a
-- quarantine row whose file was only on the lost disk (quarantine is not backed up) is
-- 'file_missing' (visible, not counted as a file waiting in quarantine).
ALTER TABLE backup_runs DROP CONSTRAINT backup_runs_result_check;
ALTER TABLE backup_runs ADD CONSTRAINT backup_runs_result_check
    CHECK (result IN ('running', 'ok', 'partial', 'failed', 'interrupted'));
ALTER TABLE restore_drills DROP CONSTRAINT restore_drills_result_check;
ALTER TABLE restore_drills ADD CONSTRAINT restore_drills_result_check
    CHECK (result IN ('running', 'passed', 'failed', 'interrupted'));
ALTER TABLE quarantine DROP CONSTRAINT quarantine_status_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_status_check
    CHECK (status IN ('quarantined', 'retry_requested', 'released', 'file_missing'));
