-- Operator actions (photo_factory.operator): acknowledge, delete from quarantine, maintenance.
-- Every action is written to operator_actions in the same transaction.

-- name: acknowledge_stage_jobs
-- Failed items of a stage (all of them when ids is NULL) that are not acknowledged yet.
UPDATE stage_jobs SET acknowledged_at = now(), acknowledged_by = %(actor)s
 WHERE state = 'failed' AND stage = %(stage)s
   AND (%(ids)s::bigint[] IS NULL OR asset_id = ANY(%(ids)s::bigint[]))
   AND (acknowledged_at IS NULL OR acknowledged_at < updated_at)
RETURNING asset_id;

-- name: unacknowledge_stage_jobs
UPDATE stage_jobs SET acknowledged_at = NULL, acknowledged_by = NULL
 WHERE state = 'failed' AND stage = %(stage)s AND asset_id = ANY(%(ids)s::bigint[])
   AND acknowledged_at IS NOT NULL
RETURNING asset_id;

-- name: acknowledge_quarantine
UPDATE quarantine SET acknowledged_at = now(), acknowledged_by = %(actor)s
 WHERE status = 'quarantined' AND acknowledged_at IS NULL
   AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
   AND (%(reason)s::text IS NULL OR reason = %(reason)s)
RETURNING id;

-- name: unacknowledge_quarantine
UPDATE quarantine SET acknowledged_at = NULL, acknowledged_by = NULL
 WHERE status = 'quarantined' AND id = ANY(%(ids)s::bigint[]) AND acknowledged_at IS NOT NULL
RETURNING id;

-- name: quarantine_for_delete
-- Locked until the file is gone and the row says so.
SELECT id, quarantine_path, sha256, original_name, reason
  FROM quarantine
 WHERE status = 'quarantined' AND id = ANY(%(ids)s::bigint[])
 ORDER BY id
   FOR UPDATE;

-- name: mark_quarantine_deleted
UPDATE quarantine SET status = 'deleted', updated_at = now() WHERE id = %(id)s;

-- name: record_action
INSERT INTO operator_actions (action, target, actor, detail)
VALUES (%(action)s, %(target)s, %(actor)s, %(detail)s);

-- name: failed_items
-- Failed stage items with their acknowledgement (acknowledged: given after the last failure).
SELECT j.stage, j.asset_id, j.attempts, j.reason_code, j.last_error, j.updated_at, a.library_path,
       (j.acknowledged_at IS NOT NULL AND j.acknowledged_at >= j.updated_at) AS acknowledged,
       j.acknowledged_by
  FROM stage_jobs j JOIN media_assets a ON a.id = j.asset_id
 WHERE j.state = 'failed'
 ORDER BY j.updated_at DESC
 LIMIT %(limit)s;

-- name: quarantined_items
SELECT id, reason, detail, original_name, quarantine_path, quarantined_at,
       acknowledged_at IS NOT NULL AS acknowledged, acknowledged_by
  FROM quarantine
 WHERE status = 'quarantined'
 ORDER BY quarantined_at DESC
 LIMIT %(limit)s;

-- name: set_maintenance
INSERT INTO maintenance (id, until, reason, set_by, set_at)
VALUES (1, now() + make_interval(secs => %(seconds)s), %(reason)s, %(actor)s, now())
ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason,
                               set_by = EXCLUDED.set_by, set_at = now()
RETURNING until;

-- name: clear_maintenance
DELETE FROM maintenance RETURNING until;

-- name: maintenance
-- The switch while it is on (NULL when off or expired).
SELECT until, reason, set_by, set_at, extract(epoch FROM until - now()) AS remaining_s
  FROM maintenance WHERE until > now();

-- name: switch_exists
SELECT to_regclass('maintenance') IS NOT NULL AS present;
