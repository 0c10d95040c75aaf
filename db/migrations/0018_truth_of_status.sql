-- 0018: the truth of status — one heartbeat per process, acknowledged failures, maintenance,
-- alert reminders and the monitor's once-a-day marks.

-- Every process beats its own row (service + instance: host, pid, start). The service's row in
-- system_status is derived from its live instances by the writer (photo_factory.heartbeat), so a
-- finished --once beside a running service never makes the service look stopped.
CREATE TABLE service_instances (
    instance_id     text        PRIMARY KEY,       -- host:pid:start (epoch ms)
    service         text        NOT NULL,
    host            text        NOT NULL,
    pid             integer     NOT NULL,
    started_at      timestamptz NOT NULL,
    once            boolean     NOT NULL DEFAULT false,  -- a --once run, not the long-running service
    status          text        NOT NULL,
    message         text        NOT NULL DEFAULT '',
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_heartbeat  timestamptz NOT NULL DEFAULT now(),
    interval_s      double precision NOT NULL DEFAULT 60,
    version         text
);
CREATE INDEX service_instances_service ON service_instances (service, last_heartbeat);
CREATE INDEX service_instances_time ON service_instances (last_heartbeat);

-- Acknowledged failures: kept and listed, but no longer in the verdict. An acknowledgement
-- covers the failure it was given for: a stage item that fails again later (updated_at moves
-- past acknowledged_at) counts again.
ALTER TABLE stage_jobs ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE stage_jobs ADD COLUMN acknowledged_by text;
ALTER TABLE quarantine ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE quarantine ADD COLUMN acknowledged_by text;
-- 'deleted': an operator deleted the quarantined file (recorded in operator_actions).
ALTER TABLE quarantine DROP CONSTRAINT quarantine_status_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_status_check
    CHECK (status IN ('quarantined', 'retry_requested', 'released', 'file_missing', 'deleted'));
-- The verdict's counts (failed stage items are counted through 0002's stage_jobs_failed).
CREATE INDEX quarantine_needs_look ON quarantine (quarantined_at)
    WHERE status = 'quarantined' AND acknowledged_at IS NULL;
CREATE INDEX operator_actions_target ON operator_actions (target, occurred_at);

-- The maintenance switch: while until > now(), problems are recorded but no alert is sent.
CREATE TABLE maintenance (
    id        integer     PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    until     timestamptz NOT NULL,
    reason    text        NOT NULL DEFAULT '',
    set_by    text        NOT NULL DEFAULT 'cli',
    set_at    timestamptz NOT NULL DEFAULT now()
);

-- Reminders while a problem lasts (PF_ALERT_REPEAT_HOURS), and incidents whose messages were
-- held (maintenance, or resolved before anyone was told).
ALTER TABLE alert_incidents ADD COLUMN last_notified_at timestamptz;
ALTER TABLE alert_incidents ADD COLUMN reminders integer NOT NULL DEFAULT 0;
ALTER TABLE alert_incidents ADD COLUMN held boolean NOT NULL DEFAULT false;
ALTER TABLE alert_incidents DROP CONSTRAINT alert_incidents_kind_check;
ALTER TABLE alert_incidents ADD CONSTRAINT alert_incidents_kind_check
    CHECK (kind IN ('service', 'disk', 'failures', 'backup', 'syncthing', 'database'));

-- Things the monitor does once per period whatever the number of monitors (the daily digest):
-- claimed with one UPDATE ... WHERE done_at < period start.
CREATE TABLE monitor_marks (
    name     text        PRIMARY KEY,
    done_at  timestamptz NOT NULL
);
