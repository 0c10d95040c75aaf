-- 0001: the ingest core — assets, quarantine, ingest events, the librarian's journal, heartbeats.

CREATE TABLE media_assets (
    id               bigserial PRIMARY KEY,
    sha256           char(64)    NOT NULL UNIQUE,
    -- relative to PF_STORAGE_DIR, e.g. Library/2024/2024-01-31/IMG_0001.JPG
    library_path     text        NOT NULL UNIQUE,
    original_name    text        NOT NULL,
    -- where it was found, relative to the inbox (e.g. DCIM/Camera/IMG_0001.JPG)
    source_path      text,
    size_bytes       bigint      NOT NULL CHECK (size_bytes > 0),
    media_type       text        NOT NULL CHECK (media_type IN ('image', 'raw', 'video')),
    mime_type        text,
    file_type        text,                      -- ExifTool's FileType (JPEG, HEIC, MOV, …)
    captured_at      timestamptz,               -- UTC instant (NULL only if unknown)
    captured_local   timestamp   NOT NULL,      -- wall-clock time where it was taken
    capture_date     date        NOT NULL,      -- local date: decides the library folder
    utc_offset_min   integer,                   -- local minus UTC, minutes
    date_source      text        NOT NULL,      -- e.g. EXIF:DateTimeOriginal, filename, mtime
    tz_source        text        NOT NULL,      -- e.g. EXIF:OffsetTimeOriginal, gps, configured
    camera_make      text,
    camera_model     text,
    width            integer,
    height           integer,
    orientation      smallint,
    duration_s       double precision,
    location         jsonb,                     -- {"lat": .., "lon": .., "alt": ..}
    metadata         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_thumbnailed   boolean     NOT NULL DEFAULT false,
    is_geocoded      boolean     NOT NULL DEFAULT false,
    is_backed_up     boolean     NOT NULL DEFAULT false,
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_assets_pending_thumbnails ON media_assets (id) WHERE NOT is_thumbnailed;
CREATE INDEX media_assets_pending_geocode ON media_assets (id) WHERE NOT is_geocoded AND location IS NOT NULL;
CREATE INDEX media_assets_pending_backup ON media_assets (id) WHERE NOT is_backed_up;
CREATE INDEX media_assets_capture_date ON media_assets (capture_date);
CREATE INDEX media_assets_ingested_at ON media_assets (ingested_at);
CREATE INDEX media_assets_camera ON media_assets (camera_make, camera_model, captured_at);

-- Files that could not be ingested. The file itself is kept under Quarantine/<reason>/.
CREATE TABLE quarantine (
    id               bigserial PRIMARY KEY,
    reason           text        NOT NULL CHECK (reason IN (
                         'empty_file', 'unsupported_type', 'unreadable', 'undecodable',
                         'truncated', 'symlink', 'not_regular_file', 'library_mismatch',
                         'ingest_error')),
    detail           text        NOT NULL DEFAULT '',
    source_path      text        NOT NULL,      -- relative to the inbox
    quarantine_path  text        NOT NULL,      -- relative to PF_STORAGE_DIR
    original_name    text        NOT NULL,
    size_bytes       bigint,
    sha256           char(64),
    status           text        NOT NULL DEFAULT 'quarantined'
                         CHECK (status IN ('quarantined', 'retry_requested', 'released')),
    quarantined_at   timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_open ON quarantine (reason) WHERE status <> 'released';

-- What the librarian did, one row per decision: the dashboard's counters and audit trail.
CREATE TABLE ingest_events (
    id           bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    kind         text        NOT NULL CHECK (kind IN (
                     'ingested', 'duplicate_removed', 'duplicate_restored', 'quarantined',
                     'registered_orphan', 'missing_original', 'error')),
    asset_id     bigint      REFERENCES media_assets (id) ON DELETE SET NULL,
    source_path  text,
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX ingest_events_kind_time ON ingest_events (kind, occurred_at);

-- Write-ahead intent for every file move: written (committed) before the move, deleted in
-- the same transaction that records the result. Whatever is left here after a crash is
-- finished or undone at start-up, so no file is lost or recorded twice.
CREATE TABLE ingest_journal (
    id           bigserial PRIMARY KEY,
    action       text        NOT NULL CHECK (action IN ('file', 'quarantine', 'restore')),
    source_abs   text        NOT NULL,
    dest_rel     text        NOT NULL,          -- relative to PF_STORAGE_DIR
    temp_rel     text,                          -- cross-device copy's temporary name
    sha256       char(64),
    payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE system_status (
    service         text PRIMARY KEY,
    status          text        NOT NULL CHECK (status IN ('ok', 'degraded', 'error', 'stopping', 'stopped', 'stale', 'starting')),
    message         text        NOT NULL DEFAULT '',
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_heartbeat  timestamptz NOT NULL DEFAULT now(),
    interval_s      double precision NOT NULL DEFAULT 60,
    host            text,
    pid             integer,
    version         text,
    started_at      timestamptz
);

CREATE TABLE system_status_history (
    id           bigserial PRIMARY KEY,
    service      text        NOT NULL,
    status       text        NOT NULL,
    message      text        NOT NULL DEFAULT '',
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX system_status_history_service_time ON system_status_history (service, recorded_at);
CREATE INDEX system_status_history_time ON system_status_history (recorded_at);
