-- The Library page's "files that belong together" panel (dashboard/library_groups_store.py):
-- groups, sidecars, motion photos, orphan sidecars and dates to review. Every query is bounded
-- by a partial index (media_assets_group, asset_sidecars_asset, media_assets_motion_video,
-- media_assets_motion_problem, media_assets_date_suspicious, quarantine_open).

-- name: together_counts
SELECT (SELECT count(*) FROM media_assets WHERE group_id IS NOT NULL) AS grouped,
       (SELECT count(DISTINCT group_id) FROM media_assets WHERE group_id IS NOT NULL) AS groups,
       (SELECT count(*) FROM asset_sidecars) AS sidecars,
       (SELECT count(*) FROM media_assets WHERE motion_video IS NOT NULL) AS motion_videos,
       (SELECT count(*) FROM media_assets WHERE motion_problem IS NOT NULL) AS motion_problems;

-- name: together_recent
-- The newest assets that belong with other files (a group, sidecars, an embedded video).
WITH ids AS (
    (SELECT id FROM media_assets WHERE group_id IS NOT NULL ORDER BY id DESC LIMIT %(limit)s)
    UNION
    (SELECT DISTINCT asset_id FROM asset_sidecars ORDER BY asset_id DESC LIMIT %(limit)s)
    UNION
    (SELECT id FROM media_assets WHERE motion_video IS NOT NULL OR motion_problem IS NOT NULL
      ORDER BY id DESC LIMIT %(limit)s)
)
SELECT a.id, a.original_name, a.library_path, a.capture_date, a.group_id, a.group_role, g.kind AS group_kind,
       a.motion_video, a.motion_problem,
       (SELECT count(*) FROM asset_sidecars s WHERE s.asset_id = a.id) AS sidecars,
       (SELECT string_agg(DISTINCT s.kind, ', ') FROM asset_sidecars s WHERE s.asset_id = a.id) AS sidecar_kinds
  FROM ids JOIN media_assets a ON a.id = ids.id
  LEFT JOIN asset_groups g ON g.id = a.group_id
 ORDER BY a.id DESC
 LIMIT %(limit)s;

-- name: motion_videos
SELECT id, original_name, motion_video, metadata -> 'PF:MotionPhoto' AS motion
  FROM media_assets
 WHERE motion_video IS NOT NULL
 ORDER BY id DESC
 LIMIT %(limit)s;

-- name: motion_problems
SELECT id, original_name, library_path, motion_problem AS problem,
       metadata -> 'PF:MotionPhoto' ->> 'detail' AS detail
  FROM media_assets
 WHERE motion_problem IS NOT NULL
 ORDER BY id DESC
 LIMIT %(limit)s;

-- name: orphan_sidecars
-- Sidecars whose photo never came (reason orphan_sidecar, added with the sidecar feature).
SELECT id, original_name, source_path, quarantine_path, detail, quarantined_at
  FROM quarantine
 WHERE reason = 'orphan_sidecar' AND status <> 'released'
 ORDER BY quarantined_at DESC
 LIMIT %(limit)s;

-- name: dates_to_review
SELECT id, original_name, library_path, capture_date, date_source,
       metadata -> 'PF:SuspiciousDate' AS reason
  FROM media_assets
 WHERE date_suspicious
 ORDER BY capture_date DESC, id DESC
 LIMIT %(limit)s;
