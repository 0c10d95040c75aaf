-- The thumbnail service's own queries (claiming is the stage engine's, photo_factory/stage_queries.sql).

-- name: request_rebuild
-- Every thumbnailed asset back in the queue (after changing PF_THUMBNAIL_SIZES or the format).
UPDATE media_assets SET is_thumbnailed = false, updated_at = now() WHERE is_thumbnailed;

-- name: record_motion
-- A motion photo's video: the derivative's path (or NULL) and what was found (PF:MotionPhoto).
UPDATE media_assets
   SET motion_video = %(motion_video)s,
       metadata = CASE WHEN %(entry)s::jsonb IS NULL THEN metadata - 'PF:MotionPhoto'
                       ELSE metadata || jsonb_build_object('PF:MotionPhoto', %(entry)s::jsonb) END,
       updated_at = now()
 WHERE id = %(id)s;
