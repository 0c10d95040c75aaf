-- 0017: motion photos — what went wrong with a motion photo's embedded video, for the dashboard.
--
-- The thumbnails stage extracts the video a phone embedded in a still (Google MotionPhoto /
-- MicroVideo XMP, Samsung's MotionPhoto_Data trailer, HEIC 'mpvd' box) to Derivatives/motion/ and
-- links it in media_assets.motion_video (0014). What it found is the PF:MotionPhoto metadata entry
-- (source, offset, length, probe, and a problem code when the photo promised a video it does not
-- hold: video_missing, bad_offset, not_mp4, empty_video, truncated_video, unplayable). The column follows the
-- entry, whichever code wrote it, like date_suspicious (0009).
ALTER TABLE media_assets ADD COLUMN motion_problem text
    GENERATED ALWAYS AS (metadata -> 'PF:MotionPhoto' ->> 'problem') STORED;
CREATE INDEX media_assets_motion_problem ON media_assets (id) WHERE motion_problem IS NOT NULL;
CREATE INDEX media_assets_motion_video ON media_assets (id) WHERE motion_video IS NOT NULL;
