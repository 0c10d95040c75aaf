-- dashboard queries (run only by dashboard.store). Every aggregate is served by an index.

-- name: service_history
SELECT recorded_at, status, message
  FROM system_status_history
 WHERE service = %(service)s AND recorded_at > now() - %(hours)s * interval '1 hour'
 ORDER BY recorded_at DESC
 LIMIT %(limit)s;

-- name: uptime
-- Share of a service's heartbeats in the window that said it was up (the service_hourly rollup,
-- migration 0019; whole hours). Up: ok, degraded (working, with a warning) and starting (coming
-- up); down: error, stale, stopping, stopped.
SELECT service, sum(beats)::bigint AS beats, round(100.0 * sum(up) / sum(beats), 1) AS uptime_percent
  FROM service_hourly
 WHERE hour > date_trunc('hour', now() - %(hours)s * interval '1 hour')
 GROUP BY service
HAVING sum(beats) > 0
 ORDER BY service;

-- name: ingest_volume
-- Ingest events per hour and kind over the window, from the hourly rollup (migration 0019).
SELECT hour, kind, n
  FROM ingest_hourly
 WHERE hour > date_trunc('hour', now() - %(hours)s * interval '1 hour')
 ORDER BY hour, kind;

-- name: library_by_type
-- From the per-month rollup (migration 0019): never a count of media_assets.
SELECT media_type, sum(files)::bigint AS files, sum(bytes)::bigint AS bytes
  FROM library_months
 GROUP BY media_type
HAVING sum(files) > 0
 ORDER BY media_type;

-- name: library_by_month
SELECT month, sum(files)::bigint AS files
  FROM library_months
 GROUP BY 1
HAVING sum(files) > 0
 ORDER BY 1;

-- name: recent_assets
SELECT id, library_path, original_name, media_type, capture_date, size_bytes, ingested_at, is_thumbnailed,
       country_code, country, region, city, place_kind
  FROM media_assets
 ORDER BY ingested_at DESC
 LIMIT %(limit)s;

-- name: places_by_count
-- Where the photos were taken, most first (the library_places rollup, library_places_files).
SELECT nullif(country_code, '') AS country_code, nullif(country, '') AS country,
       nullif(region, '') AS region, nullif(city, '') AS city, files
  FROM library_places
 WHERE files > 0
 ORDER BY files DESC
 LIMIT %(limit)s;

-- name: cameras_by_count
SELECT nullif(camera_make, '') AS camera_make, nullif(camera_model, '') AS camera_model, files
  FROM library_cameras
 WHERE files > 0 AND camera_model <> ''
 ORDER BY files DESC
 LIMIT %(limit)s;

-- name: browse
-- One page of the library, newest first, by keyset (capture_date, id) < the last row shown:
-- never OFFSET. Each filter is NULL (off) or a value; the planner sees literals, so an unused
-- filter costs nothing and a used one picks its index (browse, place_browse, camera_browse, trgm).
SELECT id, library_path, original_name, media_type, capture_date, captured_local, camera_make,
       camera_model, country_code, country, region, city, place_kind
  FROM media_assets
 WHERE capture_date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(name)s::text IS NULL OR original_name ILIKE %(name)s)
   AND (%(country_code)s::text IS NULL OR country_code = %(country_code)s)
   AND (%(city)s::text IS NULL OR city = %(city)s)
   AND (%(camera)s::text IS NULL OR camera_model = %(camera)s)
   AND (capture_date, id) < (%(after_date)s::date, %(after_id)s::bigint)
 ORDER BY capture_date DESC, id DESC
 LIMIT %(limit)s;

-- name: browse_located
-- The map: the newest located photos matching the same filters (media_assets_located index).
SELECT id, original_name, (location->>'lat')::float AS lat, (location->>'lon')::float AS lon,
       country, region, city, place_kind
  FROM media_assets
 WHERE location IS NOT NULL
   AND capture_date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(name)s::text IS NULL OR original_name ILIKE %(name)s)
   AND (%(country_code)s::text IS NULL OR country_code = %(country_code)s)
   AND (%(city)s::text IS NULL OR city = %(city)s)
   AND (%(camera)s::text IS NULL OR camera_model = %(camera)s)
 ORDER BY capture_date DESC, id DESC
 LIMIT %(limit)s;

-- name: capture_range
-- The first and last capture day (two ends of media_assets_capture_date).
SELECT min(capture_date) AS first, max(capture_date) AS last FROM media_assets;

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

-- name: ingest_totals
-- From the hourly rollup (migration 0019).
SELECT kind, sum(n)::bigint AS n
  FROM ingest_hourly
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

-- name: library_totals
-- Files, bytes and done counts per flag stage from the rollup (migration 0019): no table count.
SELECT coalesce(sum(files), 0)::bigint AS files, coalesce(sum(bytes), 0)::bigint AS bytes,
       coalesce(sum(located), 0)::bigint AS located, coalesce(sum(thumbnailed), 0)::bigint AS thumbnailed,
       coalesce(sum(geocoded), 0)::bigint AS geocoded, coalesce(sum(backed_up), 0)::bigint AS backed_up
  FROM library_months;

-- name: stage_done_today
SELECT stage, n FROM stage_done_daily WHERE day = current_date;

-- name: stage_claimed_failed
-- In flight and failed per stage, each from its partial index (pending rows are never scanned).
SELECT s.stage,
       (SELECT count(*) FROM stage_jobs j WHERE j.stage = s.stage AND j.state = 'claimed') AS claimed,
       (SELECT count(*) FROM stage_jobs j WHERE j.stage = s.stage AND j.state = 'failed') AS failed
  FROM unnest(%(stages)s::text[]) AS s (stage);

-- name: oldest_pending_thumbnails
-- When the oldest item still waiting (not failed, not in flight) came in.
SELECT a.ingested_at FROM media_assets a
 WHERE NOT a.is_thumbnailed
   AND NOT EXISTS (SELECT 1 FROM stage_jobs j WHERE j.asset_id = a.id AND j.stage = 'thumbnails'
                                                AND j.state <> 'pending')
 ORDER BY a.id LIMIT 1;

-- name: oldest_pending_geocode
SELECT a.ingested_at FROM media_assets a
 WHERE NOT a.is_geocoded AND a.location IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM stage_jobs j WHERE j.asset_id = a.id AND j.stage = 'geocode'
                                                AND j.state <> 'pending')
 ORDER BY a.id LIMIT 1;

-- name: oldest_pending_backup
-- %(leased)s: the items of the backup's leases (in flight although their rows are 'pending').
SELECT a.ingested_at FROM media_assets a
 WHERE NOT a.is_backed_up
   AND NOT EXISTS (SELECT 1 FROM stage_jobs j WHERE j.asset_id = a.id AND j.stage = 'backup'
                                                AND j.state <> 'pending')
   AND a.id <> ALL (%(leased)s::bigint[])
 ORDER BY a.id LIMIT 1;

-- name: ingested_today
-- From the hourly rollup (migration 0019): a big first import is a million events a day.
SELECT coalesce(sum(n), 0)::bigint AS n FROM ingest_hourly WHERE kind = 'ingested' AND hour >= current_date;

-- name: quarantine_open_count
SELECT count(*) FILTER (WHERE status = 'quarantined') AS quarantined, count(*) AS open
  FROM quarantine WHERE status <> 'released';

-- name: panorama_stage
-- The stitcher's numbers (a small table): per status, done today, and the oldest waiting set.
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'stitching') AS claimed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'done') AS done_total,
       count(*) FILTER (WHERE status = 'done' AND updated_at >= current_date) AS done_today,
       min(created_at) FILTER (WHERE status = 'pending') AS oldest_pending
  FROM panoramas;
