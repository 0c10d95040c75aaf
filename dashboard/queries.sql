-- dashboard queries (run only by dashboard.store). Every aggregate is served by an index.

-- name: relations
SELECT n AS name, to_regclass(n) IS NOT NULL AS present
  FROM unnest(%(names)s::text[]) AS n;

-- name: services
SELECT service, status, message, details, last_heartbeat, interval_s, host, pid, version, started_at,
       extract(epoch FROM now() - last_heartbeat) AS age_s
  FROM system_status
 ORDER BY service;

-- name: service_history
SELECT recorded_at, status, message
  FROM system_status_history
 WHERE service = %(service)s AND recorded_at > now() - %(hours)s * interval '1 hour'
 ORDER BY recorded_at DESC
 LIMIT %(limit)s;

-- name: uptime
-- Share of heartbeats per service that were ok (or degraded) in the window.
SELECT service, count(*) AS beats,
       round(100.0 * count(*) FILTER (WHERE status IN ('ok', 'degraded')) / count(*), 1) AS uptime_percent
  FROM system_status_history
 WHERE recorded_at > now() - %(hours)s * interval '1 hour'
 GROUP BY service
 ORDER BY service;

-- name: ingest_volume
-- Ingest events per hour and kind over the window (ingest_events_kind_time index).
SELECT date_trunc('hour', occurred_at) AS hour, kind, count(*) AS n
  FROM ingest_events
 WHERE occurred_at > now() - %(hours)s * interval '1 hour'
 GROUP BY 1, 2
 ORDER BY 1;

-- name: library_by_type
SELECT media_type, count(*) AS files, coalesce(sum(size_bytes), 0)::bigint AS bytes
  FROM media_assets
 GROUP BY media_type
 ORDER BY media_type;

-- name: library_by_month
SELECT date_trunc('month', capture_date)::date AS month, count(*) AS files
  FROM media_assets
 GROUP BY 1
 ORDER BY 1;

-- name: recent_assets
SELECT id, library_path, original_name, media_type, capture_date, size_bytes, ingested_at, is_thumbnailed
  FROM media_assets
 ORDER BY ingested_at DESC
 LIMIT %(limit)s;

-- name: ingest_totals
SELECT kind, count(*) AS n
  FROM ingest_events
 WHERE kind IN ('ingested', 'duplicate_removed', 'quarantined', 'error')
 GROUP BY kind;

-- name: quarantine_by_reason
SELECT reason, status, count(*) AS files
  FROM quarantine
 WHERE status <> 'released'
 GROUP BY reason, status
 ORDER BY reason;

-- name: quarantine_open
SELECT id, reason, detail, original_name, source_path, quarantine_path, status, quarantined_at
  FROM quarantine
 WHERE status <> 'released'
 ORDER BY quarantined_at DESC
 LIMIT %(limit)s;

-- name: pending_flags
-- Pending counts per flag stage, each by its partial index.
SELECT (SELECT count(*) FROM media_assets WHERE NOT is_thumbnailed) AS thumbnails,
       (SELECT count(*) FROM media_assets WHERE NOT is_geocoded AND location IS NOT NULL) AS geocode,
       (SELECT count(*) FROM media_assets WHERE NOT is_backed_up) AS backup;

-- name: stage_job_counts
SELECT stage, state, count(*) AS n
  FROM stage_jobs
 GROUP BY stage, state;

-- name: ingested_last_hour
SELECT count(*) AS n FROM ingest_events WHERE kind = 'ingested' AND occurred_at > now() - interval '1 hour';

-- name: panorama_counts
SELECT status, count(*) AS n FROM panoramas GROUP BY status;

-- name: failed_stage_jobs
SELECT j.stage, j.asset_id, j.attempts, j.reason_code, j.last_error, j.updated_at, a.library_path
  FROM stage_jobs j JOIN media_assets a ON a.id = j.asset_id
 WHERE j.state = 'failed'
 ORDER BY j.updated_at DESC
 LIMIT %(limit)s;

-- name: retry_stage_jobs
-- The stage engine's reset_failed semantics (photo_factory.worker): back to pending, attempts 0.
UPDATE stage_jobs SET state = 'pending', attempts = 0, not_before = now(), updated_at = now()
 WHERE stage = %(stage)s AND state = 'failed' AND asset_id = ANY(%(ids)s)
RETURNING asset_id;

-- name: notify_stage
SELECT pg_notify('pf_stage_' || %(stage)s, '');

-- name: retry_quarantine
-- The librarian moves files marked retry_requested back into the inbox.
UPDATE quarantine SET status = 'retry_requested', updated_at = now()
 WHERE status = 'quarantined' AND id = ANY(%(ids)s)
RETURNING id;

-- name: record_action
INSERT INTO operator_actions (action, target, actor, detail)
VALUES (%(action)s, %(target)s, %(actor)s, %(detail)s);

-- name: recent_actions
SELECT occurred_at, action, target, actor FROM operator_actions ORDER BY occurred_at DESC LIMIT 20;

-- name: backup_last_runs
SELECT id, started_at, finished_at, remote, files, bytes, failed_files, result, reason, error, dump_name
  FROM backup_runs
 ORDER BY started_at DESC
 LIMIT %(limit)s;

-- name: backup_freshness
SELECT max(finished_at) FILTER (WHERE result = 'ok') AS last_ok,
       extract(epoch FROM now() - max(finished_at) FILTER (WHERE result = 'ok')) / 3600.0 AS age_hours,
       max(started_at) AS last_started
  FROM backup_runs
 WHERE started_at > now() - interval '90 days';

-- name: last_restore_drill
SELECT id, started_at, finished_at, remote, dump_name, result, files_checked, mismatches, missing, detail
  FROM restore_drills
 WHERE result IN ('passed', 'failed')
 ORDER BY started_at DESC
 LIMIT 1;

-- name: open_incidents
SELECT key, kind, severity, subject, message, opened_at, notify_error
  FROM alert_incidents WHERE resolved_at IS NULL ORDER BY opened_at;
