-- 0026: a batch stage's claim is ONE row. A stage that starts its whole batch at once (the backup:
-- one rclone call per batch) claimed its batch by rewriting every job row (state 'claimed': a new
-- row version and three index entries, 6 WAL records an item; 16-18 ms for a batch of 500 at a
-- million assets). It now writes one lease naming the batch's items; the items' job rows stay as
-- they were ('pending') until their outcome: the completion deletes the row as before, a failure
-- rewrites it (counting the attempt the lease started) and takes the item out of the lease.
--
-- A leased item is claimed (no other claim of the stage takes it) and started (its attempt is
-- counted if the worker dies: recovery deletes the lease and adds the attempt, worker_lost after
-- the last one). Claims of a leased stage are serialized by a transaction advisory lock (no row
-- is locked or written per item), so each claim sees every committed lease.
CREATE TABLE stage_leases (
    id          bigserial   PRIMARY KEY,
    stage       text        NOT NULL CHECK (stage ~ '^[a-z][a-z0-9_]*$'),
    worker_id   text        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    items       bigint[]    NOT NULL
);
-- a claim reads its stage's leases; a worker finds its own
CREATE INDEX stage_leases_stage ON stage_leases (stage, worker_id);
