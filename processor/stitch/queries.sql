-- Stitch service queries (run only by processor/stitch/store.py).

-- name: try_scan_lock
-- One scanner at a time across replicas; released at the end of the transaction.
SELECT pg_try_advisory_xact_lock(7370617469746368) AS locked;

-- name: unscanned_shots
-- One window of a scan, in the order sequences are found (the partial index's order); a NULL
-- limit reads them all.
SELECT id, camera_make, camera_model, captured_at, width, height, orientation, source_path,
       ingested_at <= now() - make_interval(secs => %(settle_s)s) AS settled
  FROM media_assets
 WHERE NOT stitch_scanned AND media_type = 'image'
 ORDER BY camera_make, camera_model, captured_at, id
 LIMIT %(limit)s;

-- name: unscanned_in_folder
-- The other unscanned shots of a pano… folder met in a window: a folder set is one set whatever
-- the window cut.
SELECT id, camera_make, camera_model, captured_at, width, height, orientation, source_path,
       ingested_at <= now() - make_interval(secs => %(settle_s)s) AS settled
  FROM media_assets
 WHERE NOT stitch_scanned AND media_type = 'image' AND source_path LIKE %(prefix)s ESCAPE '\'
 ORDER BY id;

-- name: insert_panorama
INSERT INTO panoramas (set_key, detection, source_count)
VALUES (%(set_key)s, %(detection)s, %(source_count)s)
ON CONFLICT (set_key) DO NOTHING
RETURNING id;

-- name: mark_scanned
UPDATE media_assets SET stitch_scanned = true, updated_at = now()
 WHERE id = ANY(%(ids)s) AND NOT stitch_scanned;

-- name: claim_panorama
-- A pending set whose backoff is over, or one claimed by a worker that died long ago.
UPDATE panoramas
   SET status = 'stitching', claimed_by = %(worker)s, claimed_at = now(),
       attempts = attempts + 1, updated_at = now()
 WHERE id = (SELECT id FROM panoramas
              WHERE (status = 'pending' AND not_before <= now())
                 OR (status = 'stitching'
                     AND claimed_at < now() - make_interval(secs => %(claim_timeout_s)s))
              ORDER BY id
              LIMIT 1
              FOR UPDATE SKIP LOCKED)
RETURNING id, detection, attempts, source_count;

-- name: panorama_sources
SELECT a.id, a.library_path, a.captured_at, a.captured_local, a.capture_date, a.utc_offset_min,
       a.tz_source, a.camera_make, a.camera_model, a.location, a.original_name
  FROM panorama_sources s JOIN media_assets a ON a.id = s.asset_id
 WHERE s.panorama_id = %(panorama_id)s
 ORDER BY s.position;

-- name: finish_unstitched
-- 'rejected' (not a panorama) or 'failed' (would not stitch): final, never retried.
UPDATE panoramas
   SET status = %(status)s, reason = %(reason)s, detail = %(detail)s,
       claimed_by = NULL, claimed_at = NULL, updated_at = now()
 WHERE id = %(panorama_id)s;

-- name: retry_later
UPDATE panoramas
   SET status = 'pending', detail = %(detail)s, claimed_by = NULL, claimed_at = NULL,
       not_before = now() + make_interval(secs => %(delay_s)s), updated_at = now()
 WHERE id = %(panorama_id)s;

-- name: insert_derived_asset
-- The stitched JPEG as an image asset, so the thumbnailer (and geocoder, backup) treat it like
-- any other image. metadata.derived_from_panorama marks it; it is never a stitch candidate.
INSERT INTO media_assets (sha256, library_path, original_name, source_path, size_bytes, media_type,
                          mime_type, file_type, captured_at, captured_local, capture_date,
                          utc_offset_min, date_source, tz_source, camera_make, camera_model,
                          width, height, orientation, location, metadata, stitch_scanned)
VALUES (%(sha256)s, %(library_path)s, %(original_name)s, NULL, %(size_bytes)s, 'image',
        'image/jpeg', 'JPEG', %(captured_at)s, %(captured_local)s, %(capture_date)s,
        %(utc_offset_min)s, 'panorama', %(tz_source)s, %(camera_make)s, %(camera_model)s,
        %(width)s, %(height)s, 1, %(location)s, %(metadata)s, true)
ON CONFLICT (sha256) DO UPDATE SET updated_at = now()
RETURNING id;

-- name: finish_done
UPDATE panoramas
   SET status = 'done', reason = NULL, detail = '', output_path = %(output_path)s,
       asset_id = %(asset_id)s, width = %(width)s, height = %(height)s,
       claimed_by = NULL, claimed_at = NULL, updated_at = now()
 WHERE id = %(panorama_id)s;

-- name: notify_new_asset
SELECT pg_notify('pf_new_asset', %(asset_id)s::text);

-- name: panorama_counts
SELECT status, count(*) AS n FROM panoramas GROUP BY status;

-- name: settling
-- Unscanned images still inside the settle time, and how long until the last one is settled.
SELECT count(*) AS n,
       coalesce(max(extract(epoch FROM ingested_at + make_interval(secs => %(settle_s)s) - now())), 0)
           AS wait_s
  FROM media_assets
 WHERE NOT stitch_scanned AND media_type = 'image'
   AND ingested_at > now() - make_interval(secs => %(settle_s)s);

-- name: assets_by_path
-- Image assets chosen for a manual set: exact library paths, or everything under a folder.
SELECT id, library_path, captured_at
  FROM media_assets
 WHERE media_type = 'image' AND metadata->'derived_from_panorama' IS NULL
   AND (library_path = ANY(%(paths)s) OR library_path LIKE ANY(%(prefixes)s))
 ORDER BY captured_at NULLS LAST, library_path, id;

