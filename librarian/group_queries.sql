-- The librarian's group queries (run only by librarian/group_store.py).

-- name: candidates
-- Filed assets a new file may pair with: the same ContentIdentifier or BurstUUID, or the same
-- pair name (inbox folder + base name).
SELECT a.id, a.sha256, a.library_path, a.original_name, a.source_path, a.media_type, a.captured_at,
       a.date_source, a.camera_make, a.camera_model, a.group_id, a.group_role, g.kind AS group_kind,
       a.metadata ->> 'PF:ContentIdentifier' AS content_id, a.metadata ->> 'PF:BurstUUID' AS burst_id,
       a.metadata ->> 'PF:SubSec' AS subsec
FROM media_assets a LEFT JOIN asset_groups g ON g.id = a.group_id
WHERE a.library_path LIKE 'Library/%%'
  AND ((a.metadata ? 'PF:PairName' AND a.metadata ->> 'PF:PairName' = ANY(%(pair_names)s))
    OR (a.metadata ? 'PF:ContentIdentifier' AND a.metadata ->> 'PF:ContentIdentifier' = ANY(%(content_ids)s))
    OR (a.metadata ? 'PF:BurstUUID' AND a.metadata ->> 'PF:BurstUUID' = ANY(%(burst_ids)s)))
ORDER BY a.id
LIMIT 1000;

-- name: partners
SELECT a.id, a.sha256, a.group_id, a.group_role, g.kind AS group_kind
FROM media_assets a LEFT JOIN asset_groups g ON g.id = a.group_id
WHERE a.sha256 = ANY(%(shas)s)
ORDER BY a.id
FOR UPDATE OF a;

-- name: group_by_key
SELECT id FROM asset_groups WHERE kind = %(kind)s AND key = %(key)s;

-- name: group_roles
SELECT group_role AS role FROM media_assets WHERE group_id = %(group_id)s;

-- name: insert_group
INSERT INTO asset_groups (kind, key) VALUES (%(kind)s, %(key)s)
ON CONFLICT (kind, key) WHERE key IS NOT NULL DO NOTHING
RETURNING id;

-- name: set_member
UPDATE media_assets SET group_id = %(group_id)s, group_role = %(role)s
WHERE id = %(id)s AND group_id IS NULL;

-- name: grouped_event
INSERT INTO ingest_events (kind, asset_id, source_path, detail)
VALUES ('grouped', %(id)s, NULL, %(detail)s);

-- name: unset_member
UPDATE media_assets SET group_id = NULL, group_role = NULL WHERE id = %(id)s;

-- name: drop_empty_group
DELETE FROM asset_groups g WHERE g.id = %(group_id)s
  AND NOT EXISTS (SELECT 1 FROM media_assets a WHERE a.group_id = g.id);
