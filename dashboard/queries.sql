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
SELECT id, library_path, original_name, media_type, capture_date, size_bytes, ingested_at, is_thumbnailed,
       country_code, country, region, city, place_kind
  FROM media_assets
 ORDER BY ingested_at DESC
 LIMIT %(limit)s;

-- name: places_by_count
-- Where the photos were taken (media_assets_places: an index-only scan).
SELECT country_code, country, region, city, count(*) AS files
  FROM media_assets
 WHERE geocoded_at IS NOT NULL
 GROUP BY country_code, country, region, city
 ORDER BY files DESC
 LIMIT %(limit)s;

-- name: located_assets
-- The newest photos with a location, for the map (ingested_at index, newest first).
SELECT id, original_name, (location->>'lat')::float AS lat, (location->>'lon')::float AS lon,
       country, region, city, place_kind
  FROM media_assets
 WHERE location IS NOT NULL
 ORDER BY ingested_at DESC
 LIMIT %(limit)s;

-- name: recent_panoramas
-- Panoramas (done first, newest first) with their frames in shooting order.
SELECT p.id, p.status, p.reason, p.detail, p.detection, p.output_path, p.width, p.height, p.updated_at,
       pa.library_path AS pano_library_path,
       json_agg(json_build_object('id', a.id, 'name', a.original_name, 'library_path', a.library_path)
                ORDER BY s.position) AS frames
  FROM panoramas p
  JOIN panorama_sources s ON s.panorama_id = p.id
  JOIN media_assets a ON a.id = s.asset_id
  LEFT JOIN media_assets pa ON pa.id = p.asset_id
 GROUP BY p.id, pa.library_path
 ORDER BY p.status = 'done' DESC, p.updated_at DESC
 LIMIT %(limit)s;

-- name: images_of_day
-- Images taken on one day (media_assets_capture_date), to choose frames for a panorama by hand.
SELECT id, original_name, library_path, captured_local
  FROM media_assets
 WHERE capture_date = %(day)s AND media_type = 'image' AND metadata->'derived_from_panorama' IS NULL
 ORDER BY captured_local NULLS LAST, library_path
 LIMIT 500;

-- name: request_panorama
-- The stitcher's manual sets: recorded once per choice; a rejected or failed one is asked again.
INSERT INTO panoramas (set_key, detection, source_count)
VALUES (%(set_key)s, 'manual', %(source_count)s)
ON CONFLICT (set_key) DO UPDATE
   SET status = 'pending', reason = NULL, detail = '', attempts = 0, not_before = now(),
       updated_at = now()
 WHERE panoramas.status IN ('rejected', 'failed')
RETURNING id;

-- name: replace_panorama_sources
DELETE FROM panorama_sources WHERE panorama_id = %(panorama_id)s;

-- name: add_panorama_source
INSERT INTO panorama_sources (panorama_id, asset_id, position)
VALUES (%(panorama_id)s, %(asset_id)s, %(position)s);

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
SELECT id, started_at, finished_at, remote, dump_name, result, files_checked, mismatches, missing
  FROM restore_drills
 ORDER BY started_at DESC
 LIMIT 1;

-- name: open_incidents
SELECT key, kind, severity, subject, message, opened_at, notify_error
  FROM alert_incidents WHERE resolved_at IS NULL ORDER BY opened_at;
