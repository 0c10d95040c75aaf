-- The thumbnail service's own queries (claiming is the stage engine's, photo_factory/stage_queries.sql).

-- name: request_rebuild
-- Every thumbnailed asset back in the queue (after changing PF_THUMBNAIL_SIZES or the format).
UPDATE media_assets SET is_thumbnailed = false, updated_at = now() WHERE is_thumbnailed;
