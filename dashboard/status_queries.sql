-- The verdict's queries (dashboard.status_store): photo-factory status, the Overview's verdict
-- and the monitor's digest. Each is an index(-only) scan or a count over a partial index, so the
-- verdict stays fast on a million assets (bench/status).

-- name: relations
SELECT n AS name, to_regclass(n) IS NOT NULL AS present
  FROM unnest(%(names)s::text[]) AS n;

-- name: services
SELECT service, status, message, details, last_heartbeat, interval_s, host, pid, version, started_at,
       extract(epoch FROM now() - last_heartbeat) AS age_s
  FROM system_status
 ORDER BY service;

-- name: open_incidents
SELECT key, kind, severity, subject, message, opened_at, notify_error
  FROM alert_incidents WHERE resolved_at IS NULL ORDER BY opened_at;

-- name: failed_counts
-- Failed stage items (stage_jobs_failed): open = not acknowledged since their last failure.
SELECT count(*) FILTER (WHERE acknowledged_at IS NULL OR acknowledged_at < updated_at) AS open,
       count(*) AS total
  FROM stage_jobs
 WHERE state = 'failed';

-- name: quarantine_counts
SELECT count(*) FILTER (WHERE acknowledged_at IS NULL) AS open, count(*) AS total
  FROM quarantine
 WHERE status = 'quarantined';

-- name: pending_flags
-- Pending counts per flag stage, each by its partial index, counted up to %(cap)s: a count over
-- a million index entries alone takes longer than the whole verdict may (bench/status).
SELECT (SELECT count(*) FROM (SELECT 1 FROM media_assets WHERE NOT is_thumbnailed LIMIT %(cap)s) s) AS thumbnails,
       (SELECT count(*) FROM (SELECT 1 FROM media_assets WHERE NOT is_geocoded AND location IS NOT NULL
                               LIMIT %(cap)s) s) AS geocode,
       (SELECT count(*) FROM (SELECT 1 FROM media_assets WHERE NOT is_backed_up LIMIT %(cap)s) s) AS backup;

-- name: pending_estimates
-- Beyond the cap: the entries of each partial index as (auto)vacuum/analyze last counted them.
SELECT c.relname AS index, c.reltuples::bigint AS n
  FROM pg_class c
 WHERE c.relname IN ('media_assets_pending_thumbnails', 'media_assets_pending_geocode',
                     'media_assets_pending_backup')
   AND c.relnamespace = current_schema()::regnamespace;

-- name: stage_job_counts
-- Per stage and state, each state by its partial index (never the done rows).
SELECT stage, 'pending' AS state, count(*) AS n FROM stage_jobs WHERE state = 'pending' GROUP BY stage
UNION ALL
SELECT stage, 'claimed', count(*) FROM stage_jobs WHERE state = 'claimed' GROUP BY stage
UNION ALL
SELECT stage, 'failed', count(*) FROM stage_jobs WHERE state = 'failed' GROUP BY stage;

-- name: leased_in_flight
-- Items of batch stages' leases (0026) still waiting for their outcome: their rows stay 'pending',
-- yet they are in flight (the stores move them from pending to claimed). Each lease names at most
-- a batch: a probe per named item.
SELECT l.stage, i.asset_id
  FROM stage_leases l, unnest(l.items) AS i (asset_id)
 WHERE EXISTS (SELECT 1 FROM stage_jobs j
                WHERE j.asset_id = i.asset_id AND j.stage = l.stage AND j.state = 'pending');

-- name: last_restore_drill
SELECT id, started_at, finished_at, remote, dump_name, result, files_checked, mismatches, missing, detail
  FROM restore_drills
 WHERE result IN ('passed', 'failed')
 ORDER BY started_at DESC
 LIMIT 1;

-- name: maintenance
SELECT until, reason, set_by, extract(epoch FROM until - now()) AS remaining_s
  FROM maintenance WHERE until > now();

-- name: ingested_last_hour
SELECT count(*) AS n FROM ingest_events WHERE kind = 'ingested' AND occurred_at > now() - interval '1 hour';

-- name: backup_age
SELECT extract(epoch FROM now() - max(finished_at)) AS age_s FROM backup_runs WHERE result = 'ok';

-- name: ingested_since
SELECT count(*) AS n FROM ingest_events
 WHERE kind = 'ingested' AND occurred_at > now() - make_interval(secs => %(hours)s * 3600);
