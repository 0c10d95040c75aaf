-- 0004: monitoring — alert incidents, operator actions, and indexes for the dashboard's aggregates.

-- One row per incident (a condition that started and, later, ended). The monitor opens one when
-- a condition appears and resolves it when the condition is gone: one alert message on open,
-- one on recovery. The partial unique index makes "open once" safe with several monitors.
CREATE TABLE alert_incidents (
    id                  bigserial PRIMARY KEY,
    key                 text        NOT NULL,           -- e.g. service:librarian, disk:storage
    kind                text        NOT NULL CHECK (kind IN ('service', 'disk', 'failures', 'backup', 'syncthing')),
    severity            text        NOT NULL DEFAULT 'error' CHECK (severity IN ('warning', 'error')),
    subject             text        NOT NULL,
    message             text        NOT NULL DEFAULT '',
    opened_at           timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    resolved_at         timestamptz,
    -- notification bookkeeping: NULL = still to send (retried every round until it goes out)
    open_notified_at    timestamptz,
    resolve_notified_at timestamptz,
    notify_attempts     integer     NOT NULL DEFAULT 0,
    notify_error        text
);
CREATE UNIQUE INDEX alert_incidents_one_open ON alert_incidents (key) WHERE resolved_at IS NULL;
CREATE INDEX alert_incidents_opened ON alert_incidents (opened_at);

-- What operators did from the dashboard (Retry, …): the audit trail of every manual action.
CREATE TABLE operator_actions (
    id           bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    action       text        NOT NULL,          -- e.g. retry_quarantine, retry_stage_job
    target       text        NOT NULL,          -- e.g. quarantine:42, thumbnails:1234
    actor        text        NOT NULL DEFAULT 'dashboard',
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX operator_actions_time ON operator_actions (occurred_at);

-- Library statistics by index-only scans (counts and bytes per media type on 100k+ assets).
CREATE INDEX media_assets_type_size ON media_assets (media_type) INCLUDE (size_bytes);
-- Quarantine listing by time.
CREATE INDEX quarantine_time ON quarantine (quarantined_at);

-- The dashboard's failed-backup list (0003's backup_failed flag), by a partial index.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_name = 'media_assets' AND column_name = 'backup_failed') THEN
        CREATE INDEX IF NOT EXISTS media_assets_backup_failed ON media_assets (id) WHERE backup_failed;
    END IF;
END
$$;
