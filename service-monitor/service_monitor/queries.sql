-- service-monitor queries (run only by service_monitor.store).

-- name: db_stats
SELECT current_setting('server_version') AS server_version,
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
       current_setting('max_connections')::int AS max_connections,
       pg_database_size(current_database()) AS database_bytes;

-- name: ping
SELECT 1 AS one;

-- name: beat_for
INSERT INTO system_status AS s (service, status, message, details, last_heartbeat, interval_s, host)
VALUES (%(service)s, %(status)s, %(message)s, %(details)s, now(), %(interval_s)s, %(host)s)
ON CONFLICT (service) DO UPDATE
   SET status = EXCLUDED.status, message = EXCLUDED.message, details = EXCLUDED.details,
       last_heartbeat = now(), interval_s = EXCLUDED.interval_s, host = EXCLUDED.host;

-- name: beat_for_history
INSERT INTO system_status_history (service, status, message, details)
VALUES (%(service)s, %(status)s, %(message)s, %(details)s);

-- name: mark_stale
-- A service whose heartbeat is overdue by stale_factor x its own interval turns 'stale'
-- (once: the transition is written to the history too).
WITH overdue AS (
    UPDATE system_status
       SET status = 'stale',
           message = 'no heartbeat for ' || round(extract(epoch FROM now() - last_heartbeat))::text || 's'
     WHERE status <> 'stale'
       AND last_heartbeat < now() - make_interval(secs => interval_s * %(stale_factor)s)
    RETURNING service, status, message, details
)
INSERT INTO system_status_history (service, status, message, details)
SELECT service, status, message, details FROM overdue
RETURNING service;

-- name: services
SELECT service, status, message, details, last_heartbeat, interval_s,
       extract(epoch FROM now() - last_heartbeat) AS age_s
  FROM system_status
 ORDER BY service;

-- name: disk_used_before
-- The disk beat of about a day ago (for growth): the newest history row older than the cutoff.
SELECT details, recorded_at
  FROM system_status_history
 WHERE service = 'disk' AND recorded_at <= now() - %(hours)s * interval '1 hour'
   AND recorded_at > now() - %(hours)s * 2 * interval '1 hour'
 ORDER BY recorded_at DESC
 LIMIT 1;

-- name: failures_last_hour_ingest
SELECT count(*) AS n
  FROM ingest_events
 WHERE kind IN ('quarantined', 'error') AND occurred_at > now() - interval '1 hour';

-- name: failures_last_hour_stages
SELECT count(*) AS n
  FROM stage_jobs
 WHERE state = 'failed' AND updated_at > now() - interval '1 hour';

-- name: relation_exists
SELECT to_regclass(%(name)s) IS NOT NULL AS present;

-- name: last_good_backup
SELECT max(finished_at) AS finished_at,
       extract(epoch FROM now() - max(finished_at)) / 3600.0 AS age_hours,
       (SELECT min(started_at) FROM backup_runs) AS first_run
  FROM backup_runs
 WHERE result = 'ok';

-- name: open_incident
-- Open an incident for this key unless one is open; returns the row only when it was opened now.
INSERT INTO alert_incidents (key, kind, severity, subject, message)
VALUES (%(key)s, %(kind)s, %(severity)s, %(subject)s, %(message)s)
ON CONFLICT (key) WHERE resolved_at IS NULL DO NOTHING
RETURNING id, key;

-- name: touch_incidents
UPDATE alert_incidents SET last_seen_at = now()
 WHERE resolved_at IS NULL AND key = ANY(%(keys)s);

-- name: resolve_missing
-- Resolve every open incident whose condition is gone (not in the active set) for quiet_s seconds.
UPDATE alert_incidents SET resolved_at = now()
 WHERE resolved_at IS NULL AND NOT (key = ANY(%(keys)s))
   AND last_seen_at <= now() - make_interval(secs => %(quiet_s)s)
RETURNING id, key;

-- name: claim_open_notifications
-- Open incidents whose opening message is still to send; claimed so two monitors never both
-- send it. Picked once in a MATERIALIZED CTE: an IN (subquery ... LIMIT ... SKIP LOCKED) may be
-- rescanned per row by a nested-loop plan and claim past its limit.
WITH picked AS MATERIALIZED (
    SELECT id FROM alert_incidents
     WHERE open_notified_at IS NULL AND resolved_at IS NULL
     ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
UPDATE alert_incidents i SET open_notified_at = now(), last_notified_at = now(),
                             notify_attempts = i.notify_attempts + 1
  FROM picked WHERE i.id = picked.id
RETURNING i.id, i.key, i.kind, i.severity, i.subject, i.message, i.opened_at, i.resolved_at;

-- name: claim_reminders
-- Problems that still last PF_ALERT_REPEAT_HOURS after their last message: one reminder each,
-- claimed like the openings. %(now)s: the monitor's clock (injected in tests), else now().
WITH picked AS MATERIALIZED (
    SELECT id FROM alert_incidents
     WHERE resolved_at IS NULL AND open_notified_at IS NOT NULL
       AND coalesce(last_notified_at, open_notified_at)
           <= coalesce(%(now)s::timestamptz, now()) - make_interval(secs => %(repeat_s)s)
     ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
UPDATE alert_incidents i SET last_notified_at = coalesce(%(now)s::timestamptz, now()),
                             reminders = i.reminders + 1
  FROM picked WHERE i.id = picked.id
RETURNING i.id, i.key, i.kind, i.severity, i.subject, i.message, i.opened_at, i.resolved_at, i.reminders,
          extract(epoch FROM coalesce(%(now)s::timestamptz, now()) - i.opened_at) AS lasted_s;

-- name: unclaim_reminder
UPDATE alert_incidents SET last_notified_at = %(previous)s, reminders = reminders - 1,
                           notify_error = %(error)s
 WHERE id = %(id)s;

-- name: hold_unsent_resolved
-- Incidents that came and went without an opening message (held during maintenance, or during
-- a delivery outage): nobody is told of a problem that is already over; kept as held.
UPDATE alert_incidents SET open_notified_at = now(), resolve_notified_at = now(), held = true
 WHERE resolved_at IS NOT NULL AND open_notified_at IS NULL
RETURNING id, key;

-- name: maintenance
SELECT until, reason, set_by FROM maintenance WHERE until > now();

-- name: leader
-- One monitor leads (a session advisory lock, held while its connection lives): the leader
-- alone sends what cannot be coordinated through the database, i.e. "the database is down".
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks
                          WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                            AND classid = 0 AND objid = 724301 AND granted)
            THEN true
            ELSE pg_try_advisory_lock(724301) END AS leader;

-- name: record_outage
-- The database outage, recorded once it is back (already told: both messages marked sent).
INSERT INTO alert_incidents (key, kind, severity, subject, message, opened_at, last_seen_at, resolved_at,
                             open_notified_at, resolve_notified_at, last_notified_at)
VALUES ('database', 'database', 'error', 'factory-db is unreachable', %(message)s, %(since)s, now(), now(),
        CASE WHEN %(told)s THEN %(since)s END, CASE WHEN %(told)s THEN now() END,
        CASE WHEN %(told)s THEN %(since)s END);

-- name: claim_mark
-- Once per period whatever the number of monitors (and whatever the clocks do): the mark holds
-- the start of the last period claimed; returns a row only to the one that claims a newer one.
INSERT INTO monitor_marks AS m (name, done_at) VALUES (%(name)s, %(since)s)
ON CONFLICT (name) DO UPDATE SET done_at = EXCLUDED.done_at
 WHERE m.done_at < EXCLUDED.done_at
RETURNING done_at;

-- name: prune_instances
-- Instances (service_instances) not heard of for the retention period.
DELETE FROM service_instances WHERE last_heartbeat < now() - make_interval(days => %(days)s);

-- name: claim_resolve_notifications
WITH picked AS MATERIALIZED (
    SELECT id FROM alert_incidents
     WHERE resolved_at IS NOT NULL AND resolve_notified_at IS NULL AND open_notified_at IS NOT NULL
     ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
UPDATE alert_incidents i SET resolve_notified_at = now(), notify_attempts = i.notify_attempts + 1
  FROM picked WHERE i.id = picked.id
RETURNING i.id, i.key, i.kind, i.severity, i.subject, i.message, i.opened_at, i.resolved_at;

-- name: unclaim_open_notification
UPDATE alert_incidents SET open_notified_at = NULL, notify_error = %(error)s WHERE id = %(id)s;

-- name: unclaim_resolve_notification
UPDATE alert_incidents SET resolve_notified_at = NULL, notify_error = %(error)s WHERE id = %(id)s;

-- name: mark_notified
UPDATE alert_incidents SET notify_error = NULL WHERE id = %(id)s;

-- name: open_incidents
SELECT id, key, kind, severity, subject, message, opened_at, last_seen_at, notify_error
  FROM alert_incidents WHERE resolved_at IS NULL ORDER BY opened_at;

-- name: prune_history
-- One batch of history rows past retention (batches keep locks and WAL small).
DELETE FROM system_status_history
 WHERE id IN (SELECT id FROM system_status_history
               WHERE recorded_at < now() - make_interval(days => %(days)s)
               LIMIT %(batch)s);

-- name: prune_incidents
DELETE FROM alert_incidents
 WHERE resolved_at < now() - make_interval(days => %(days)s)
   AND resolve_notified_at IS NOT NULL;
