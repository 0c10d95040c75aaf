-- 0025: the stage engine's prune walks one stage's job rows in asset order, a window per round.
-- The primary key (asset_id, stage) serves that only by stepping over every other stage's rows
-- (20,000 failed thumbnails made an empty backup window cost 5-12 ms); this index reads exactly
-- the window.
CREATE INDEX stage_jobs_stage_asset ON stage_jobs (stage, asset_id);
