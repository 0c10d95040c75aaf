-- 0002: the stage engine — per-stage job state for the processor's workers.
--
-- An asset is *pending* for a stage while its flag on media_assets (is_thumbnailed, …) is false
-- and it matches the stage's filter. A stage_jobs row exists only while the asset is claimed,
-- backing off after a failure, or failed for good; it is deleted in the same transaction that sets
-- the flag to true. Rows with no stage_jobs row yet are pending (the worker creates them lazily).

CREATE TABLE stage_jobs (
    asset_id     bigint      NOT NULL REFERENCES media_assets (id) ON DELETE CASCADE,
    stage        text        NOT NULL CHECK (stage ~ '^[a-z][a-z0-9_]*$'),
    state        text        NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'claimed', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before   timestamptz NOT NULL DEFAULT now(),
    reason_code  text        CHECK (reason_code ~ '^[a-z][a-z0-9_]*$'),
    last_error   text,
    claimed_by   text,
    claimed_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, stage),
    CHECK ((state = 'claimed') = (claimed_by IS NOT NULL AND claimed_at IS NOT NULL))
);

-- The claim's partial index: pending rows of a stage, oldest first.
CREATE INDEX stage_jobs_pending ON stage_jobs (stage, not_before, asset_id) WHERE state = 'pending';
-- Stale-claim recovery and the dashboard's failed list.
CREATE INDEX stage_jobs_claimed ON stage_jobs (stage, claimed_at) WHERE state = 'claimed';
CREATE INDEX stage_jobs_failed ON stage_jobs (stage, updated_at) WHERE state = 'failed';

-- One row per running worker process, touched every few seconds by a lease thread: a claim whose
-- worker has not been seen for the lease time belongs to a dead worker and goes back to pending.
CREATE TABLE stage_workers (
    worker_id    text        PRIMARY KEY,
    stage        text        NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stage_workers_stage ON stage_workers (stage, last_seen);
