-- The librarian's queries (run only by librarian/store.py).

-- name: try_lock
SELECT pg_try_advisory_lock(%(key)s) AS locked;

-- name: find_by_sha
SELECT id, sha256, library_path, size_bytes FROM media_assets WHERE sha256 = %(sha256)s;

-- name: find_by_shas
SELECT id, sha256, library_path, size_bytes FROM media_assets WHERE sha256 = ANY(%(shas)s);

-- name: taken_paths
SELECT library_path AS path FROM media_assets WHERE library_path = ANY(%(paths)s)
UNION SELECT dest_rel FROM ingest_journal WHERE dest_rel = ANY(%(paths)s)
UNION SELECT quarantine_path FROM quarantine WHERE quarantine_path = ANY(%(paths)s);

-- name: path_taken
SELECT EXISTS (SELECT 1 FROM media_assets WHERE library_path = %(path)s)
    OR EXISTS (SELECT 1 FROM ingest_journal WHERE dest_rel = %(path)s)
    OR EXISTS (SELECT 1 FROM quarantine WHERE quarantine_path = %(path)s) AS taken;

-- name: journal_add
INSERT INTO ingest_journal (action, source_abs, dest_rel, temp_rel, sha256, payload)
VALUES (%(action)s, %(source_abs)s, %(dest_rel)s, %(temp_rel)s, %(sha256)s, %(payload)s)
RETURNING id;

-- name: journal_all
SELECT id, action, source_abs, dest_rel, temp_rel, sha256, payload, created_at FROM ingest_journal ORDER BY id;

-- name: journal_delete
DELETE FROM ingest_journal WHERE id = %(id)s;

-- name: insert_assets_many
INSERT INTO media_assets (sha256, library_path, original_name, original_name_raw, source_path, size_bytes, media_type,
                          mime_type, file_type, captured_at, captured_local, capture_date,
                          utc_offset_min, date_source, tz_source, camera_make, camera_model, width,
                          height, orientation, duration_s, location, metadata)
VALUES %s
RETURNING id, sha256;

-- name: insert_assets_many_template
(%(sha256)s, %(library_path)s, %(original_name)s, %(original_name_raw)s, %(source_path)s, %(size_bytes)s, %(media_type)s,
 %(mime_type)s, %(file_type)s, %(captured_at)s, %(captured_local)s, %(capture_date)s,
 %(utc_offset_min)s, %(date_source)s, %(tz_source)s, %(camera_make)s, %(camera_model)s, %(width)s,
 %(height)s, %(orientation)s, %(duration_s)s, %(location)s, %(metadata)s)

-- name: add_events_many
INSERT INTO ingest_events (kind, asset_id, source_path, detail) VALUES %s;

-- name: journal_delete_many
DELETE FROM ingest_journal WHERE id = ANY(%(ids)s);

-- name: journal_add_many
INSERT INTO ingest_journal (action, source_abs, dest_rel, temp_rel, sha256, payload) VALUES %s RETURNING id;

-- name: notify_new_asset
SELECT pg_notify('pf_new_asset', %(id)s::text);

-- name: add_event
INSERT INTO ingest_events (kind, asset_id, source_path, detail)
VALUES (%(kind)s, %(asset_id)s, %(source_path)s, %(detail)s);

-- name: insert_quarantine
INSERT INTO quarantine (reason, detail, source_path, quarantine_path, original_name, original_name_raw,
                        size_bytes, sha256)
VALUES (%(reason)s, %(detail)s, %(source_path)s, %(quarantine_path)s, %(original_name)s,
        %(original_name_raw)s, %(size_bytes)s, %(sha256)s)
RETURNING id;

-- name: retry_requested
SELECT id, source_path, quarantine_path, original_name_raw FROM quarantine
WHERE status = 'retry_requested' ORDER BY id LIMIT 100;

-- name: release_quarantine
UPDATE quarantine SET status = 'released', updated_at = now() WHERE id = %(id)s;

-- name: retry_failed
UPDATE quarantine SET status = 'quarantined', updated_at = now()
WHERE id = %(id)s AND status = 'retry_requested';

-- name: kept_sources
SELECT source_path, kind, detail FROM ingest_events
WHERE kind IN ('source_not_removed', 'left_in_inbox') AND source_path = ANY(%(paths)s);

-- name: kept_source_recorded
SELECT EXISTS (SELECT 1 FROM ingest_events
               WHERE kind IN ('source_not_removed', 'left_in_inbox') AND source_path = %(path)s
                 AND (detail -> 'signature' ->> 'ino')::bigint = %(ino)s
                 AND (%(ctime_ns)s::bigint IS NULL
                      OR (detail -> 'signature' ->> 'ctime_ns')::bigint = %(ctime_ns)s::bigint)) AS recorded;

-- name: all_library_paths
SELECT library_path FROM media_assets WHERE library_path LIKE 'Library/%%';

-- name: missing_already_reported
SELECT EXISTS (SELECT 1 FROM ingest_events e JOIN media_assets a ON a.id = e.asset_id
                WHERE e.kind = 'missing_original' AND a.library_path = %(path)s) AS reported;

-- name: asset_id_by_path
SELECT id FROM media_assets WHERE library_path = %(path)s;
