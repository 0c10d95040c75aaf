-- The stage engine's queries (run only by photo_factory/stage_store.py).
-- {flag} is the stage's media_assets flag column (an SQL identifier), {where} the stage's
-- constant extra filter on media_assets aliased "a" (e.g. a.location IS NOT NULL) and {columns}
-- what a claim returns (a.* or the stage's columns); all come from the Stage definition in code,
-- composed with psycopg2.sql, never from user input.

-- name: touch_worker
INSERT INTO stage_workers (worker_id, stage, host, pid)
VALUES (%(worker)s, %(stage)s, %(host)s, %(pid)s)
ON CONFLICT (worker_id) DO UPDATE SET last_seen = now();

-- name: remove_worker
DELETE FROM stage_workers WHERE worker_id = %(worker)s OR last_seen < now() - interval '1 day';

-- name: enqueue_pending
-- Looks at up to limit pending assets after the id "after" (the worker's mark: what it has already
-- looked at), creates the missing job rows, and returns the last id looked at and how many.
-- Without the mark every round walked every pending asset that already has a row — a queue of
-- 20,000 failed items made each claim round cost 20,000 index probes.
WITH candidates AS MATERIALIZED (
    SELECT a.id
      FROM media_assets a
     WHERE NOT a.{flag} AND ({where}) AND a.id > %(after)s
     ORDER BY a.id
     LIMIT %(limit)s),
created AS (
    -- the primary key skips the ones that have a row, one probe each (a NOT EXISTS here was
    -- planned as a hash anti-join over every job row of the stage)
    INSERT INTO stage_jobs (asset_id, stage)
    SELECT c.id, %(stage)s FROM candidates c
    ON CONFLICT DO NOTHING)
SELECT max(id) AS last, count(*) AS looked FROM candidates;

-- name: claim
-- The rows are picked (and locked) once, in a MATERIALIZED CTE, then updated by join. The old
-- form, UPDATE … WHERE asset_id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED), let the planner
-- rescan the subquery for every outer row (a nested loop): each rescan skipped the rows the
-- statement had just updated and returned n more, so claim(4) claimed a hundred rows.
-- A claim is not an attempt: the attempt is counted when the item is started (start below),
-- except for a stage that starts its whole batch at once (parameter start: the backup), started here.
-- The asset is checked by a scalar subquery (one primary-key probe per job row), not a join: the
-- pick then walks stage_jobs_pending in its order and stops after n rows. A join was planned as a
-- hash join over every pending job of the stage, sorted (a backup claim of 200 from 5,000
-- pending: 250 ms).
-- At the tail of a queue a worker takes its fair share, not a whole batch: with n items due and w
-- live workers, ceil(n / w) (at least 1, at most the batch). A batch of 4 once left one worker
-- with the last four items (four 12 MP HEICs: ~5 s of one core) while the other idled. The count
-- stops at batch x workers rows, so it costs the same at any queue length.
WITH live AS MATERIALIZED (
    SELECT GREATEST(1, count(*)) AS n
      FROM stage_workers
     WHERE stage = %(stage)s AND last_seen > now() - make_interval(secs => %(lease)s::float8)),
share AS MATERIALIZED (
    SELECT LEAST(%(limit)s, GREATEST(1, ceil(
               (SELECT count(*) FROM (SELECT 1 FROM stage_jobs d
                                       WHERE d.stage = %(stage)s AND d.state = 'pending' AND d.not_before <= now()
                                       LIMIT %(limit)s * live.n) due)::numeric / live.n)))::int AS n
      FROM live),
picked AS MATERIALIZED (
    SELECT p.asset_id
      FROM stage_jobs p
     WHERE p.stage = %(stage)s AND p.state = 'pending' AND p.not_before <= now()
       AND (SELECT NOT a.{flag} AND ({where}) FROM media_assets a WHERE a.id = p.asset_id)
     ORDER BY p.not_before, p.asset_id
     LIMIT (SELECT n FROM share)
       FOR UPDATE OF p SKIP LOCKED),
claimed AS (
    -- by primary key (= ANY of an array): joined to picked, this too became a hash join over
    -- every job of the stage
    -- start: a batch stage that starts its whole batch at once (the backup) is started here,
    -- attempt counted, instead of by a second statement rewriting every row (each row update
    -- writes a new row version and an entry in three indexes: most of a claim's time)
    UPDATE stage_jobs j
       SET state = 'claimed', claimed_by = %(worker)s, claimed_at = now(),
           started_at = CASE WHEN %(start)s THEN now() END,
           attempts = j.attempts + CASE WHEN %(start)s THEN 1 ELSE 0 END, updated_at = now()
     WHERE j.stage = %(stage)s AND j.asset_id = ANY(ARRAY(SELECT asset_id FROM picked))
    RETURNING j.asset_id, j.attempts)
SELECT {columns}, c.attempts + CASE WHEN %(start)s THEN 0 ELSE 1 END AS stage_attempts
  FROM claimed c JOIN media_assets a ON a.id = c.asset_id
 ORDER BY a.id;

-- name: lock_leases
-- A leased stage's claims run one at a time (per stage, until the claim commits), so the next
-- claim's snapshot, taken after this, sees every committed lease: no item row is locked or written
-- per claimed item. A separate statement: a statement's snapshot is taken before it runs.
SELECT pg_advisory_xact_lock(hashtext('pf_stage_leases'), hashtext(%(stage)s));

-- name: end_lease
-- This worker's leases, once every item of them has its outcome recorded (or was given back).
DELETE FROM stage_leases WHERE stage = %(stage)s AND worker_id = %(worker)s;

-- name: claim_lease
-- The claim of a stage that starts its whole batch at once (Stage.start_on_claim: the backup),
-- under lock_leases: ONE lease row naming the batch's items, which are thereby claimed and
-- started; their job rows are not written (rewriting each was a new row version and three index
-- entries: 6 WAL records an item, 16-18 ms for a batch of 500). The pick is the claim's, minus
-- the items of the stage's leases (a hashed NOT IN: each one met costs a probe of a small hash).
-- stage_attempts counts the attempt this lease starts: it is written to the row only if the item
-- fails or its worker is lost.
WITH live AS MATERIALIZED (
    SELECT GREATEST(1, count(*)) AS n
      FROM stage_workers
     WHERE stage = %(stage)s AND last_seen > now() - make_interval(secs => %(lease)s::float8)),
held AS MATERIALIZED (
    SELECT unnest(l.items) AS asset_id FROM stage_leases l WHERE l.stage = %(stage)s),
share AS MATERIALIZED (
    SELECT LEAST(%(limit)s, GREATEST(1, ceil(
               (SELECT count(*) FROM (SELECT 1 FROM stage_jobs d
                                       WHERE d.stage = %(stage)s AND d.state = 'pending' AND d.not_before <= now()
                                         AND d.asset_id NOT IN (SELECT asset_id FROM held)
                                       LIMIT %(limit)s * live.n) due)::numeric / live.n)))::int AS n
      FROM live),
picked AS MATERIALIZED (
    -- the asset is read once, by the probe that checks it still needs the stage (OFFSET 0 keeps
    -- the probe a per-row subquery: as a join it could become a hash join over every asset)
    SELECT a.*, p.attempts + 1 AS stage_attempts
      FROM stage_jobs p
     CROSS JOIN LATERAL (SELECT {columns} FROM media_assets a
                          WHERE a.id = p.asset_id AND NOT a.{flag} AND ({where}) OFFSET 0) a
     WHERE p.stage = %(stage)s AND p.state = 'pending' AND p.not_before <= now()
       AND p.asset_id NOT IN (SELECT asset_id FROM held)
     ORDER BY p.not_before, p.asset_id
     LIMIT (SELECT n FROM share)),
leased AS (
    INSERT INTO stage_leases (stage, worker_id, items)
    SELECT %(stage)s, %(worker)s, array_agg(id ORDER BY id) FROM picked
    HAVING count(*) > 0)
SELECT * FROM picked ORDER BY id;

-- name: start
-- The worker starts these claimed items now: each counts an attempt. Items whose claim this
-- worker lost (recovered as stale) are not returned and must not be processed.
UPDATE stage_jobs
   SET started_at = now(), attempts = attempts + 1, updated_at = now()
 WHERE stage = %(stage)s AND asset_id = ANY(%(ids)s)
   AND state = 'claimed' AND claimed_by = %(worker)s AND started_at IS NULL
RETURNING asset_id;

-- name: complete
WITH done AS (
    DELETE FROM stage_jobs
     WHERE stage = %(stage)s AND asset_id = ANY(%(ids)s)
       AND state = 'claimed' AND claimed_by = %(worker)s
    RETURNING asset_id)
UPDATE media_assets SET {flag} = true, updated_at = now()
 WHERE id IN (SELECT asset_id FROM done)
RETURNING id;

-- name: complete_lease
-- Completion of leased items: the lease is locked (KEY SHARE) so that a recovery, which deletes it
-- and counts the attempts, waits for this transaction; a lease already recovered completes nothing
-- (the claim was lost, as for a recovered row claim).
WITH lease AS MATERIALIZED (
    SELECT l.items
      FROM stage_leases l
     WHERE l.stage = %(stage)s AND l.worker_id = %(worker)s
       FOR KEY SHARE),
done AS (
    -- the lease is checked per row found (a filter): as an index condition its whole item list
    -- was sorted and walked with the ids, each completion
    DELETE FROM stage_jobs j
     WHERE j.stage = %(stage)s AND j.asset_id = ANY(%(ids)s) AND j.state = 'pending'
       AND EXISTS (SELECT 1 FROM lease WHERE j.asset_id = ANY(lease.items))
    RETURNING j.asset_id)
UPDATE media_assets SET {flag} = true, updated_at = now()
 WHERE id IN (SELECT asset_id FROM done)
RETURNING id;

-- name: fail_lease
-- A leased item's failure: it leaves the lease (a recovery must not count it again) and its row
-- gets the attempt the lease started, then the backoff or failed state as fail below.
WITH lease AS MATERIALIZED (
    UPDATE stage_leases l SET items = array_remove(l.items, %(asset_id)s::bigint)
     WHERE l.stage = %(stage)s AND l.worker_id = %(worker)s AND %(asset_id)s::bigint = ANY(l.items)
    RETURNING l.id)
UPDATE stage_jobs
   SET state = CASE WHEN %(retryable)s AND attempts + 1 < %(max_attempts)s THEN 'pending' ELSE 'failed' END,
       attempts = attempts + 1,
       not_before = now() + make_interval(secs => LEAST(%(backoff_max)s::float8,
                                                        %(backoff_base)s::float8 * power(2, attempts))),
       reason_code = %(reason_code)s, last_error = %(message)s, updated_at = now()
 WHERE stage = %(stage)s AND asset_id = %(asset_id)s AND state = 'pending' AND EXISTS (SELECT 1 FROM lease)
RETURNING asset_id, state, attempts, not_before;

-- name: release_lease
-- Leased items given back: out of the lease, their rows untouched (their attempt never written).
UPDATE stage_leases l
   SET items = ARRAY(SELECT unnest(l.items) EXCEPT SELECT unnest(%(ids)s::bigint[]))
 WHERE l.stage = %(stage)s AND l.worker_id = %(worker)s;

-- name: recover_leases
-- Leases of a worker not seen for the lease, or older than the claim timeout: deleted, and each of
-- their items still waiting for its outcome gets the attempt the lease started (failed /
-- worker_lost after the last one), as a started row claim in recover_stale.
WITH stale AS MATERIALIZED (
    DELETE FROM stage_leases l
     WHERE l.stage = %(stage)s
       AND (l.claimed_at < now() - make_interval(secs => %(claim_timeout)s::float8)
            OR NOT EXISTS (SELECT 1 FROM stage_workers w
                            WHERE w.worker_id = l.worker_id
                              AND w.last_seen > now() - make_interval(secs => %(lease)s::float8)))
    RETURNING l.worker_id, l.items),
items AS MATERIALIZED (
    SELECT i.asset_id, s.worker_id FROM stale s, unnest(s.items) AS i (asset_id))
UPDATE stage_jobs j
   SET state = CASE WHEN j.attempts + 1 < %(max_attempts)s THEN 'pending' ELSE 'failed' END,
       attempts = j.attempts + 1, reason_code = 'worker_lost',
       last_error = 'the worker ' || i.worker_id || ' stopped or hung while processing this item',
       not_before = now(), updated_at = now()
  FROM items i
 WHERE j.stage = %(stage)s AND j.asset_id = ANY(ARRAY(SELECT asset_id FROM items))
   AND j.asset_id = i.asset_id AND j.state = 'pending'
RETURNING j.asset_id, j.state, true AS started;

-- name: fail
UPDATE stage_jobs
   SET state = CASE WHEN %(retryable)s AND attempts < %(max_attempts)s THEN 'pending' ELSE 'failed' END,
       not_before = now() + make_interval(secs => LEAST(%(backoff_max)s::float8,
                                                        %(backoff_base)s::float8 * power(2, attempts - 1))),
       reason_code = %(reason_code)s, last_error = %(message)s,
       claimed_by = NULL, claimed_at = NULL, started_at = NULL, updated_at = now()
 WHERE stage = %(stage)s AND asset_id = %(asset_id)s AND state = 'claimed' AND claimed_by = %(worker)s
RETURNING asset_id, state, attempts, not_before;

-- name: release
-- Claimed items given back: unstarted ones never counted; a started one whose outcome could
-- not be recorded (database lost mid-item) is not the item's fault either.
UPDATE stage_jobs
   SET state = 'pending', not_before = now(),
       attempts = CASE WHEN started_at IS NULL THEN attempts ELSE GREATEST(attempts - 1, 0) END,
       claimed_by = NULL, claimed_at = NULL, started_at = NULL, updated_at = now()
 WHERE stage = %(stage)s AND asset_id = ANY(%(ids)s) AND state = 'claimed' AND claimed_by = %(worker)s;

-- name: recover_stale
-- Claims of a worker not seen for the lease, or held longer than the claim timeout. An item the
-- worker had started counts as attempted (failed / worker_lost after the last attempt: a file
-- that kills its worker cannot loop); one it had only claimed goes back to pending as it was.
WITH stale AS MATERIALIZED (
    SELECT j.asset_id, j.started_at IS NOT NULL AS started
      FROM stage_jobs j
     WHERE j.stage = %(stage)s AND j.state = 'claimed'
       AND (j.claimed_at < now() - make_interval(secs => %(claim_timeout)s::float8)
            OR NOT EXISTS (SELECT 1 FROM stage_workers w
                            WHERE w.worker_id = j.claimed_by
                              AND w.last_seen > now() - make_interval(secs => %(lease)s::float8)))
       FOR UPDATE OF j SKIP LOCKED)
UPDATE stage_jobs j
   SET state = CASE WHEN NOT s.started OR j.attempts < %(max_attempts)s THEN 'pending' ELSE 'failed' END,
       reason_code = CASE WHEN s.started THEN 'worker_lost' ELSE j.reason_code END,
       last_error = CASE WHEN s.started
                         THEN 'the worker ' || j.claimed_by || ' stopped or hung while processing this item'
                         ELSE j.last_error END,
       not_before = now(), claimed_by = NULL, claimed_at = NULL, started_at = NULL, updated_at = now()
  FROM stale s
 WHERE j.stage = %(stage)s AND j.asset_id = s.asset_id
RETURNING j.asset_id, j.state, s.started;

-- name: prune_jobs
-- Looks at up to limit of the stage's job rows after the asset id "after" (the worker's prune
-- mark; the next round goes on from the last one looked at, from the start again once a round
-- looks at fewer than limit) and drops the unclaimed ones whose asset no longer needs the stage,
-- one primary-key probe each (a scalar subquery is never turned into a join). A round costs
-- limit probes whatever the backlog: one pass over every job row took 0.65 s at a million
-- assets with 20,000 failed items (every 30 s per worker), and the join form (DELETE … USING
-- media_assets) was planned as a hash join over the whole asset table (5 s).
WITH looked AS MATERIALIZED (
    SELECT j.asset_id
      FROM stage_jobs j
     WHERE j.stage = %(stage)s AND j.asset_id > %(after)s
     ORDER BY j.asset_id
     LIMIT %(limit)s),
pruned AS (
    DELETE FROM stage_jobs j
     WHERE j.stage = %(stage)s AND j.asset_id = ANY(ARRAY(SELECT asset_id FROM looked))
       AND j.state <> 'claimed'
       AND (SELECT a.{flag} OR NOT ({where}) FROM media_assets a WHERE a.id = j.asset_id)
    RETURNING 1)
SELECT (SELECT max(asset_id) FROM looked) AS last, (SELECT count(*) FROM looked) AS looked,
       (SELECT count(*) FROM pruned) AS pruned;

-- name: queue_depth
-- Each count stops at cap: a heartbeat costs about cap probes per count, not a walk of the whole
-- backlog (a million new assets, 20,000 failed items: 0.1-0.3 s a heartbeat at a million). A
-- count equal to the cap means "at least cap" (the heartbeat says so). Exact totals per stage
-- are the dashboard's (its rollups); pending also walks past failed items newer than what waits.
SELECT (SELECT count(*) FROM (
            -- newest first: failed items are usually older than what waits, and each one met
            -- before the cap is reached costs a probe
            SELECT 1 FROM media_assets a
             WHERE NOT a.{flag} AND ({where})
               AND NOT EXISTS (SELECT 1 FROM stage_jobs j
                                WHERE j.asset_id = a.id AND j.stage = %(stage)s AND j.state <> 'pending')
               -- a leased item is in flight, not pending (its row stays 'pending' until its outcome)
               AND a.id NOT IN (SELECT unnest(l.items) FROM stage_leases l WHERE l.stage = %(stage)s)
             ORDER BY a.id DESC
             LIMIT %(cap)s) p) AS pending,
       (SELECT count(*) FROM (
            SELECT 1 FROM stage_jobs j
             WHERE j.stage = %(stage)s AND j.state = 'pending' AND j.not_before > now()
               AND (SELECT NOT a.{flag} AND ({where}) FROM media_assets a WHERE a.id = j.asset_id)
             LIMIT %(cap)s) b) AS backing_off,
       LEAST(%(cap)s, (SELECT count(*) FROM (
            SELECT 1 FROM stage_jobs j
             WHERE j.stage = %(stage)s AND j.state = 'claimed'
               AND (SELECT NOT a.{flag} AND ({where}) FROM media_assets a WHERE a.id = j.asset_id)
             LIMIT %(cap)s) c) + (SELECT count(*) FROM (
            -- leased items still waiting for their outcome (completed ones have no row)
            SELECT 1 FROM stage_leases l, unnest(l.items) AS i (asset_id)
             WHERE l.stage = %(stage)s
               AND EXISTS (SELECT 1 FROM stage_jobs j
                            WHERE j.asset_id = i.asset_id AND j.stage = %(stage)s AND j.state = 'pending')
             LIMIT %(cap)s) l)) AS claimed,
       (SELECT count(*) FROM (
            SELECT 1 FROM stage_jobs j
             WHERE j.stage = %(stage)s AND j.state = 'failed'
               AND (SELECT NOT a.{flag} AND ({where}) FROM media_assets a WHERE a.id = j.asset_id)
             LIMIT %(cap)s) f) AS failed;

-- name: list_failed
SELECT j.asset_id, a.library_path, j.reason_code, j.last_error, j.attempts, j.updated_at
  FROM stage_jobs j JOIN media_assets a ON a.id = j.asset_id
 WHERE j.stage = %(stage)s AND j.state = 'failed'
 ORDER BY j.updated_at DESC, j.asset_id
 LIMIT %(limit)s;

-- name: job_state
SELECT asset_id, stage, state, attempts, not_before, reason_code, last_error, claimed_by, claimed_at
  FROM stage_jobs
 WHERE stage = %(stage)s AND asset_id = %(asset_id)s;

-- name: reset_failed
WITH reset AS (
    UPDATE stage_jobs
       SET state = 'pending', attempts = 0, not_before = now(), updated_at = now()
     WHERE stage = %(stage)s AND state = 'failed'
       AND (%(ids)s::bigint[] IS NULL OR asset_id = ANY(%(ids)s::bigint[]))
    RETURNING asset_id)
SELECT count(*) AS n, pg_notify('pf_stage_' || %(stage)s, '') IS NULL AS notified FROM reset;
