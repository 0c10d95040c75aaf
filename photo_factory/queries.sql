-- Core queries: heartbeats. Each process beats its own service_instances row; the service's
-- system_status row (what every reader reads) is derived from the live instances right after.

-- name: lock_service
-- Serialise the derivation per service (two instances beating at once derive in turn).
SELECT pg_advisory_xact_lock(hashtext('pf_heartbeat:' || %(service)s));

-- name: upsert_instance
INSERT INTO service_instances (instance_id, service, host, pid, started_at, once, status, message,
                               details, last_heartbeat, interval_s, version)
VALUES (%(instance_id)s, %(service)s, %(host)s, %(pid)s, %(started_at)s, %(once)s, %(status)s,
        %(message)s, %(details)s, now(), %(interval_s)s, %(version)s)
ON CONFLICT (instance_id) DO UPDATE
   SET once = EXCLUDED.once, status = EXCLUDED.status, message = EXCLUDED.message,
       details = EXCLUDED.details, last_heartbeat = now(), interval_s = EXCLUDED.interval_s;

-- name: derive_status
-- The service's state from its instances. Live: not stopping/stopped and beaten within
-- stale_factor x its interval. The representative is a live long-running instance (the worst
-- of them: error, degraded, ok, starting), else a live --once run, else the newest ended one
-- (long-running first). A finished --once is never live, so it never hides a running service.
WITH inst AS (
    SELECT i.*, (i.status NOT IN ('stopping', 'stopped')
                 AND i.last_heartbeat > now() - make_interval(secs => i.interval_s * %(stale_factor)s)) AS live
      FROM service_instances i
     WHERE i.service = %(service)s
       AND i.last_heartbeat > now() - interval '7 days'
), counts AS (
    SELECT count(*) FILTER (WHERE live AND NOT once) AS running,
           count(*) FILTER (WHERE live AND once) AS once_runs
      FROM inst
), rep AS (
    SELECT * FROM inst
     ORDER BY live DESC, once ASC,
              CASE WHEN NOT live THEN 0 WHEN status = 'error' THEN 0 WHEN status = 'degraded' THEN 1
                   WHEN status = 'ok' THEN 2 ELSE 3 END,
              last_heartbeat DESC
     LIMIT 1
), derived AS (
    INSERT INTO system_status AS s (service, status, message, details, last_heartbeat, interval_s,
                                    host, pid, version, started_at)
    SELECT rep.service, rep.status, rep.message,
           rep.details || jsonb_build_object('instances', counts.running, 'once_runs', counts.once_runs,
                                             'instance', rep.instance_id),
           rep.last_heartbeat, rep.interval_s, rep.host, rep.pid, rep.version, rep.started_at
      FROM rep, counts
    ON CONFLICT (service) DO UPDATE
       SET status = EXCLUDED.status, message = EXCLUDED.message, details = EXCLUDED.details,
           last_heartbeat = EXCLUDED.last_heartbeat, interval_s = EXCLUDED.interval_s,
           host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
           started_at = EXCLUDED.started_at
    RETURNING s.service, s.status, s.message, s.details
)
INSERT INTO system_status_history (service, status, message, details)
SELECT service, status, message, details FROM derived
RETURNING service, status;
