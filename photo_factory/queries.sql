-- Core queries: heartbeats.

-- name: upsert_status
INSERT INTO system_status AS s (service, status, message, details, last_heartbeat, interval_s,
                                host, pid, version, started_at)
VALUES (%(service)s, %(status)s, %(message)s, %(details)s, now(), %(interval_s)s,
        %(host)s, %(pid)s, %(version)s, %(started_at)s)
ON CONFLICT (service) DO UPDATE
   SET status = EXCLUDED.status, message = EXCLUDED.message, details = EXCLUDED.details,
       last_heartbeat = now(), interval_s = EXCLUDED.interval_s, host = EXCLUDED.host,
       pid = EXCLUDED.pid, version = EXCLUDED.version, started_at = EXCLUDED.started_at;

-- name: append_history
INSERT INTO system_status_history (service, status, message, details)
VALUES (%(service)s, %(status)s, %(message)s, %(details)s);
