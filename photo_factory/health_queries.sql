-- Health check queries (photo-factory healthcheck).

-- name: freshest_heartbeat
-- The service's own row, or a replica's row named "<service>@…" / "<service>-…", freshest first.
SELECT service, status, message, host, interval_s,
       EXTRACT(EPOCH FROM (now() - last_heartbeat))::float AS age_s
  FROM system_status
 WHERE service = %(service)s
    OR (host = %(host)s AND (service LIKE %(service)s || '@%%' OR service LIKE %(service)s || '-%%'))
 ORDER BY (host = %(host)s) DESC, last_heartbeat DESC
 LIMIT 1;

-- name: replica_lease
-- This host's own stage worker lease (stage workers only): how long since it was last seen.
SELECT EXTRACT(EPOCH FROM (now() - last_seen))::float AS age_s
  FROM stage_workers
 WHERE stage = %(service)s AND host = %(host)s
 ORDER BY last_seen DESC
 LIMIT 1;

-- name: own_instance
-- This host's instance of the service: a live long-running one first, then the newest.
SELECT service, status, message, host, interval_s, once,
       EXTRACT(EPOCH FROM (now() - last_heartbeat))::float AS age_s
  FROM service_instances
 WHERE service = %(service)s AND host = %(host)s
 ORDER BY (status NOT IN ('stopping', 'stopped')) DESC, once ASC, last_heartbeat DESC
 LIMIT 1;
