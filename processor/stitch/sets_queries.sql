-- A panorama's set of source images: recorded by the stitcher's detection and by hand (the
-- stitcher's --set and the dashboard's Panoramas page). Kept apart from queries.sql so that the
-- dashboard records a manual set without importing the stitcher (OpenCV).

-- name: insert_source
INSERT INTO panorama_sources (panorama_id, asset_id, position)
VALUES (%(panorama_id)s, %(asset_id)s, %(position)s)
ON CONFLICT DO NOTHING;

-- name: insert_manual_panorama
-- A set chosen by hand: recorded once per choice of assets; asking again for a set that was
-- rejected or failed makes it pending again (a done one stays done).
INSERT INTO panoramas (set_key, detection, source_count)
VALUES (%(set_key)s, 'manual', %(source_count)s)
ON CONFLICT (set_key) DO UPDATE
   SET status = 'pending', reason = NULL, detail = '', attempts = 0, not_before = now(),
       updated_at = now()
 WHERE panoramas.status IN ('rejected', 'failed')
RETURNING id, status;

-- name: panorama_by_key
SELECT id, status, output_path FROM panoramas WHERE set_key = %(set_key)s;

-- name: delete_sources
DELETE FROM panorama_sources WHERE panorama_id = %(panorama_id)s;
