-- 0003: backup — backup time per asset, backup runs, database dumps, restore drills.

-- Retries, backoff and the failed state of each asset live in the stage engine's stage_jobs
-- (stage 'backup', 0002); media_assets only gains when its verified copy was made.
ALTER TABLE media_assets ADD COLUMN backed_up_at timestamptz;

-- One row per backup run (one worker round: claimed batch(es), a dump, or both).
CREATE TABLE backup_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    host         text,
    remote       text        NOT NULL,
    files        integer     NOT NULL DEFAULT 0,     -- files uploaded and verified
    bytes        bigint      NOT NULL DEFAULT 0,
    failed_files integer     NOT NULL DEFAULT 0,
    result       text        NOT NULL DEFAULT 'running'
                     CHECK (result IN ('running', 'ok', 'partial', 'failed')),
    reason       text,
    error        text,
    dump_name    text
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);

-- Database dumps uploaded to the remote (pg_dump custom format). expired_at is set when the
-- retention policy deleted it from the remote: the only remote deletion the backup ever does.
CREATE TABLE backup_dumps (
    name         text PRIMARY KEY,             -- e.g. photo_factory-20240131T020000Z.dump
    remote       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    size_bytes   bigint      NOT NULL,
    sha256       char(64)    NOT NULL,
    run_id       bigint      REFERENCES backup_runs (id) ON DELETE SET NULL,
    expired_at   timestamptz
);

-- Restore drills (photo-factory restore --drill) and their verdicts.
CREATE TABLE restore_drills (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    remote       text        NOT NULL,
    dump_name    text,
    result       text        NOT NULL DEFAULT 'running'
                     CHECK (result IN ('running', 'passed', 'failed')),
    files_checked integer    NOT NULL DEFAULT 0,
    mismatches   integer     NOT NULL DEFAULT 0,
    missing      integer     NOT NULL DEFAULT 0,
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
