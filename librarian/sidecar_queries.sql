-- Sidecar queries of the librarian (run only by librarian/sidecar_store.py).

-- name: photos_by_prefix
-- Photos filed (or recognised as duplicates) from inbox paths starting with a prefix, any case.
SELECT DISTINCT ON (e.source_path, a.id) a.id AS asset_id, e.source_path, a.library_path, a.original_name,
       a.captured_at, a.media_type
FROM ingest_events e JOIN media_assets a ON a.id = e.asset_id
WHERE e.kind IN ('ingested', 'duplicate_removed', 'duplicate_restored') AND e.asset_id IS NOT NULL
  AND lower(e.source_path) LIKE lower(%(prefix)s) ESCAPE '\'
ORDER BY e.source_path, a.id, e.id DESC;

-- name: takeout_json_of_photo
-- The Takeout JSON filed beside the photo that came from this inbox path: an edited copy that
-- arrives after its original (and the JSON they share) were filed reads it there.
SELECT s.library_path
FROM ingest_events e JOIN asset_sidecars s ON s.asset_id = e.asset_id
WHERE e.kind IN ('ingested', 'duplicate_removed', 'duplicate_restored') AND e.asset_id IS NOT NULL
  AND lower(e.source_path) = lower(%(path)s) AND s.kind = 'takeout_json'
ORDER BY e.id DESC, s.id
LIMIT 1;

-- name: orphans_by_prefix
SELECT id, source_path, quarantine_path, original_name, original_name_raw, size_bytes, sha256
FROM quarantine
WHERE reason = 'orphan_sidecar' AND status = 'quarantined' AND lower(source_path) LIKE lower(%(prefix)s) ESCAPE '\'
ORDER BY id;

-- name: quarantined_by_prefix
SELECT id, source_path, reason FROM quarantine
WHERE reason <> 'orphan_sidecar' AND status IN ('quarantined', 'retry_requested')
  AND lower(source_path) LIKE lower(%(prefix)s) ESCAPE '\'
ORDER BY id;

-- name: albums_by_prefix
SELECT source_path, metadata ->> 'album' AS album FROM asset_sidecars
WHERE kind = 'takeout_album' AND lower(source_path) LIKE lower(%(prefix)s) ESCAPE '\'
ORDER BY id;

-- name: sidecars_of
SELECT id, library_path, sha256, kind FROM asset_sidecars WHERE asset_id = %(asset_id)s;

-- name: sidecar_path_taken
SELECT EXISTS (SELECT 1 FROM asset_sidecars WHERE library_path = %(path)s)
    OR EXISTS (SELECT 1 FROM media_assets WHERE library_path = %(path)s)
    OR EXISTS (SELECT 1 FROM ingest_journal WHERE dest_rel = %(path)s) AS taken;

-- name: insert_sidecar
INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, source_path, size_bytes, sha256, metadata)
VALUES (%(asset_id)s, %(library_path)s, %(kind)s, %(original_name)s, %(source_path)s, %(size_bytes)s,
        %(sha256)s, %(metadata)s)
ON CONFLICT (library_path) DO NOTHING
RETURNING id;

-- name: add_event
INSERT INTO ingest_events (kind, asset_id, source_path, detail)
VALUES (%(kind)s, %(asset_id)s, %(source_path)s, %(detail)s);

-- name: drop_quarantine
DELETE FROM quarantine WHERE id = %(id)s;

-- name: journal_delete
DELETE FROM ingest_journal WHERE id = %(id)s;

-- name: all_sidecar_paths
SELECT library_path FROM asset_sidecars;

-- name: asset_in_folder
SELECT id, library_path, original_name FROM media_assets
WHERE library_path LIKE %(folder)s ESCAPE '\' AND library_path NOT LIKE %(deeper)s ESCAPE '\'
ORDER BY id;

-- name: flag_date
UPDATE media_assets
SET metadata = metadata || jsonb_build_object('PF:SuspiciousDate',
        coalesce(metadata ->> 'PF:SuspiciousDate' || '; ', '') || %(why)s::text)
WHERE id = %(id)s;

-- name: asset_capture
SELECT captured_at, captured_local FROM media_assets WHERE id = %(id)s;

-- name: orphans_exist
SELECT EXISTS (SELECT 1 FROM quarantine WHERE reason = 'orphan_sidecar' AND status = 'quarantined') AS any;
