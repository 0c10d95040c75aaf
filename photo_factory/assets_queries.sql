-- `photo-factory assets` (run only by photo_factory/assets_store.py).

-- name: no_jit
SET LOCAL jit = off;

-- name: stream_assets
-- In id order through the primary key (no sort), so a server-side cursor streams it.
SELECT a.id, a.library_path, a.sha256, a.size_bytes, a.media_type, a.capture_date, a.date_source,
       a.tz_source, a.group_id, g.kind AS group_kind, a.group_role, a.motion_video,
       ARRAY(SELECT s.library_path FROM asset_sidecars s WHERE s.asset_id = a.id ORDER BY s.library_path)
           AS sidecars
FROM media_assets a LEFT JOIN asset_groups g ON g.id = a.group_id
WHERE (%(since)s::date IS NULL OR a.capture_date >= %(since)s::date)
  AND (%(kind)s::text IS NULL OR g.kind = %(kind)s::text)
ORDER BY a.id;
