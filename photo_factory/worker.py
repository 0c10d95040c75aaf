"""The stage engine: claim pending assets by a status flag, process them, record the outcome.

Every processor stage (thumbnails, geocode, backup, stitch) is a :class:`Stage` plus a function that
does the work. The engine gives any number of replicas, in any number of containers, exactly-once
processing of every pending asset, with retries, backoff, a visible ``failed`` state and recovery of
claims held by dead workers. Postgres is the only coordination.

State (migration ``0002_stage_engine.sql``):

- An asset is *pending* for a stage while ``media_assets.<flag>`` is false and it matches the stage's
  ``where`` filter. Its ``stage_jobs (asset_id, stage)`` row is created lazily; no row means pending.
- Claim: one statement, ``WITH picked AS MATERIALIZED (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)
  UPDATE stage_jobs … FROM picked RETURNING …`` (partial index ``stage_jobs_pending``); the
  materialized CTE makes ``n`` a hard limit (an ``IN (subquery)`` may be rescanned per row and
  claim far more). A claim is not an attempt: starting an item (``start``) counts one.
- A stage that starts its whole batch at once (``start_on_claim``: the backup) is *leased*: its
  claim writes ONE ``stage_leases`` row naming the batch (migration 0026), its items' rows stay
  ``pending`` and unwritten until their outcome; claims of such a stage take turns (an advisory
  lock) and skip the items of every lease. A failure writes the attempt the lease started; a dead
  worker's lease is deleted by recovery, which writes the attempt of each item still waiting.
- Success: the job row is deleted and the flag set to true, in one transaction (with the stage's
  own writes of the outcome, a :data:`~photo_factory.stage_store.Finish` its ``process`` returns,
  and the start of the next item: a durable commit is most of PostgreSQL's cost of an item). A
  round's look for new assets, its claim and its first start are one transaction too.
- :class:`ItemError` ``(reason_code, message, retryable)``: a retryable error goes back to
  ``pending`` with ``not_before = now() + backoff_base_s * 2**(attempts-1)`` (capped at
  ``backoff_max_s``) until ``max_attempts``; a non-retryable one, or the last attempt, ends in
  ``state = 'failed'`` with ``reason_code`` and ``last_error`` kept. Any other exception is a
  retryable ``internal_error``. One bad file never stops the worker and never loops.
- Dead workers: each worker refreshes ``stage_workers.last_seen`` every ``lease_s / 4`` seconds; a
  claim whose worker was not seen for ``lease_s``, or older than ``claim_timeout_s``, goes back to
  ``pending``. An item the worker had started keeps its attempt (``failed`` with ``worker_lost``
  if that was the last one — a file that kills its worker cannot loop forever); items it had
  only claimed go back as they were, so a killed worker costs attempts only for what it ran.
- Retry (the dashboard's button): :func:`reset_failed` — in SQL, ``UPDATE stage_jobs SET
  state = 'pending', attempts = 0, not_before = now() WHERE stage = %s AND state = 'failed'
  [AND asset_id = ANY(%s)]`` then ``SELECT pg_notify('pf_stage_' || stage, '')``.
- Wake-up: workers ``LISTEN pf_new_asset`` (the librarian's ``NOTIFY pf_new_asset, '<id>'``) and
  ``pf_stage_<name>``; polling every ``poll_s`` seconds is the fallback and the guarantee.
- ``--once`` processes everything pending and not in backoff, then returns. SIGTERM finishes the
  current item, gives unstarted claims back, and returns.

Example (a stage worker's CLI command)::

    from photo_factory.worker import ItemError, Stage, run_stage

    GEOCODE = Stage(name="geocode", flag="is_geocoded", where="a.location IS NOT NULL")

    def process(asset: dict) -> Finish:        # asset = the media_assets row as a dict
        if not valid(asset["location"]):
            raise ItemError("bad_location", f"asset {asset['id']}: no usable GPS", retryable=False)
        return store.place_writer(asset["id"], lookup(asset["location"]))  # written with the flag

    run_stage(GEOCODE, core.database_url, process=process, once=once,
              heartbeat_seconds=core.heartbeat_seconds, db_wait_seconds=core.db_wait_seconds)

Batch stages (backup: one rclone call per batch; geocode offline: a batch of lookups) pass
``process_batch(assets) -> {id: None | ItemError}`` instead: ``None`` is success; a missing id counts
as a retryable ``internal_error``. It may return ``(outcomes, finish)``: ``finish`` writes the
successes' output in the transaction that completes them (if it fails, they are retried).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from photo_factory import db, loop, tools
from photo_factory.heartbeat import HeartbeatService
from photo_factory.notify import Listener
from photo_factory.stage_store import COUNT_CAP, Finish, StageStore

log = logging.getLogger(__name__)

#: The channel the librarian notifies after each insert (payload: the new asset id).
NEW_ASSET_CHANNEL = "pf_new_asset"
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
T = TypeVar("T")

#: one asset's work; it may return a :data:`~photo_factory.stage_store.Finish` (the stage's own
#: writes of the outcome, run in the transaction that completes the item)
Process = Callable[[dict], "Finish | None"]
#: a batch's work: each item's outcome (None: success), optionally with the stage's writes of the
#: successes (a Finish, run in the transaction that completes them: one statement for the batch)
ProcessBatch = Callable[[list[dict]], "dict[int, ItemError | None] | tuple[dict[int, ItemError | None], Finish | None]"]


class ItemError(Exception):
    """A per-item failure with a typed reason: ``retryable`` errors back off, others fail at once."""

    def __init__(self, reason_code: str, message: str, retryable: bool = False):
        if not _IDENT.match(reason_code):
            raise ValueError(f"reason codes are snake_case identifiers, got {reason_code!r}")
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message
        self.retryable = retryable


def run_item(work: Callable[[dict], T], asset: dict, stage: str) -> tuple[ItemError | None, T | None]:
    """``(None, work(asset))``, or ``(the error, None)``: the engine's one classification of an
    item's failure (a batch stage classifies each item of its batch with it too). A tool that
    timed out, died or is missing is retryable; any other exception is a retryable
    ``internal_error``, logged; a lost database is raised (the round is given back)."""
    try:
        return None, work(asset)
    except ItemError as exc:
        return exc, None
    except tools.ToolError as exc:  # a tool timed out, died, is missing, or we are stopping
        return ItemError(exc.reason, exc.detail, retryable=True), None
    except db.UNAVAILABLE:
        raise
    except Exception as exc:
        log.exception("asset %s: %s failed unexpectedly", asset["id"], stage)
        return ItemError("internal_error", f"{type(exc).__name__}: {exc}", retryable=True), None


@dataclass(frozen=True)
class Stage:
    """A stage definition: which assets it claims and how it retries.

    ``where`` is a constant SQL condition on ``media_assets`` aliased ``a`` (no ``%`` or braces);
    it must match the stage's partial index on media_assets for the pending scan to be cheap.
    """

    name: str
    flag: str
    where: str = "TRUE"
    batch_size: int = 8
    max_attempts: int = 5
    backoff_base_s: float = 30.0
    backoff_max_s: float = 6 * 3600.0
    claim_timeout_s: float = 3600.0
    lease_s: float = 60.0
    poll_s: float = 5.0
    #: the media_assets columns a claim returns (``id`` always); empty: every column
    columns: tuple[str, ...] = ()
    #: a batch stage that starts every item it claims at once (the backup): the claim itself
    #: counts the attempt, and no separate start statement rewrites the batch's rows again
    start_on_claim: bool = False
    #: False: the engine's commits for this stage do not wait for their WAL flush. Only for a stage
    #: whose output is durable before its completion is committed (fsynced files) or written in the
    #: same transaction (a place): a PostgreSQL crash can then only forget a completion, and the
    #: item is done again — never a flag without its output. The worker no longer idles ~8 ms an
    #: item waiting for the disk. The librarian's records (the inbox copy is removed after them)
    #: never take this path.
    commit_wait: bool = True

    def __post_init__(self) -> None:
        for label, value in (("name", self.name), ("flag", self.flag), *(("column", c) for c in self.columns)):
            if not _IDENT.match(value):
                raise ValueError(f"stage {label} must be a snake_case identifier, got {value!r}")
        if any(c in self.where for c in "%{};"):
            raise ValueError("stage where-filter must not contain %, braces or ;")
        if self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")

    @property
    def channel(self) -> str:
        """The stage's own NOTIFY channel (used by :func:`reset_failed`)."""
        return f"pf_stage_{self.name}"


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0
    started: float = field(default_factory=time.monotonic)
    recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=1000))

    def rate_per_min(self, window_s: float = 300.0) -> float:
        """Items done per minute over the last ``window_s`` seconds (or since start)."""
        now = time.monotonic()
        while self.recent and self.recent[0] < now - window_s:
            self.recent.popleft()
        span = min(window_s, max(now - self.started, 1.0))
        return round(len(self.recent) * 60.0 / span, 2)


def new_worker_id(stage: str) -> str:
    return f"{stage}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class StageWorker:
    """One worker of a stage: ``work_once()`` claims a batch and processes it.

    Give exactly one of ``process`` (one asset at a time) or ``process_batch``. ``work_once`` is
    what :func:`photo_factory.loop.run` calls; :meth:`run` wires the loop, heartbeat, NOTIFY
    listener and lease thread around it.
    """

    def __init__(self, stage: Stage, database_url: str, *, process: Process | None = None,
                 process_batch: ProcessBatch | None = None, worker_id: str | None = None,
                 stopper: loop.Stopper | None = None, on_idle: Callable[[], None] | None = None):
        if (process is None) == (process_batch is None):
            raise ValueError("give exactly one of process or process_batch")
        self.stage = stage
        self.database_url = database_url if stage.commit_wait else db.without_commit_wait(database_url)
        self.process = process
        self.process_batch = process_batch
        #: called when the queue runs dry after work (a round that found nothing due follows one
        #: that did something): e.g. give back memory kept between items
        self.on_idle = on_idle
        self.worker_id = worker_id or new_worker_id(stage.name)
        self.stopper = stopper or loop.Stopper()
        self.stats = WorkerStats()
        self.store = StageStore(db.Database(self.database_url, stage.name), stage, self.worker_id)
        self.listener: Listener | None = None
        self._held: list[int] = []
        self._registered = False
        self._last_recover = 0.0
        self._beat: HeartbeatService | None = None

    # -- one round -----------------------------------------------------------
    def work_once(self) -> bool:
        """Claim up to ``batch_size`` due items and process them; False when nothing was due."""
        if self._held:  # a previous round died mid-batch (database loss): give those back
            self.store.release(self._held)
            self._held = []
            self.store.end_lease()
        # The claim comes first, the recovery of dead workers' claims after the batch: a first
        # round (a worker just started, a `--once` run) no longer waits for it before working.
        # When nothing is claimable, the recovery runs at once and the claim is tried again:
        # what a dead worker held is never left for a later round.
        assets, started = self._claim_round()
        if not assets and self._recover_if_due():
            assets, started = self._claim_round()
        if not assets:
            return False
        self._held = [a["id"] for a in assets]
        if self.process_batch is not None:
            self._run_batch(assets, started)
        else:
            self._run_each(assets, started)
        self._recover_if_due()
        return True

    def _claim_round(self) -> tuple[list[dict], set[int]]:
        """One transaction: register (the first round), look for new assets, claim, start the
        first item (a batch: every item)."""
        s = self.stage
        claimed = self.store.claim_round(s.batch_size, max(100, s.batch_size * 10),
                                         s.batch_size if self.process_batch is not None else 1,
                                         register=not self._registered)
        self._registered = True
        return claimed

    def _recover_if_due(self) -> bool:
        """Recover dead or hung workers' claims when the interval is up; False when not due."""
        now = time.monotonic()
        if now - self._last_recover < min(self.stage.lease_s / 2, 30.0):
            return False
        self._last_recover = now
        self.store.rewind()  # one full look for pending assets per recovery interval
        for row in self.store.recover_stale():
            self.stats.recovered += 1
            log.warning("asset %s: %s claim of a lost worker (%s) is now %s", row["asset_id"],
                        self.stage.name, "started" if row["started"] else "not started", row["state"])
        self.store.prune_jobs()
        return True

    def _run_each(self, assets: list[dict], started: set[int]) -> None:
        """One item after the other. A success is recorded in the same transaction that starts
        the next item (one durable commit per item instead of two)."""
        for n, asset in enumerate(assets):
            if self.stopper.stop.is_set():
                log.info("stopping: giving back %d unstarted %s item(s)", len(self._held), self.stage.name)
                self.store.release(self._held)  # a started one gets its attempt back
                self._held = []
                return
            if asset["id"] not in started and not self._start([asset["id"]]):
                continue
            self._progress(f"processing asset {asset['id']}")
            error, finish = self._call(asset)
            if error is not None and error.reason_code == "tool_stopped":
                continue  # abandoned because we are stopping: given back above
            if error is not None:
                self._record(asset["id"], error)
                started = set()
                continue
            following = [assets[n + 1]["id"]] if n + 1 < len(assets) and not self.stopper.stop.is_set() else []
            started = self._complete([asset["id"]], start=following, finish=finish)

    def _progress(self, what: str) -> None:
        if self._beat is not None:
            self._beat.progress(f"{self.stage.name}: {what}")

    def _start(self, asset_ids: list[int]) -> list[int]:
        """Count the attempt of these items now; drop (and return without) the ones whose claim
        was recovered from this worker in the meantime."""
        held = self.store.start(asset_ids)
        for asset_id in asset_ids:
            if asset_id not in held:
                self._held.remove(asset_id)
                log.warning("asset %s: %s claim was lost before the item started; skipped",
                            asset_id, self.stage.name)
        return [i for i in asset_ids if i in held]

    def _call(self, asset: dict) -> tuple[ItemError | None, Finish | None]:
        """(None, the stage's finishing writes or None) on success, (the error, None) on failure."""
        assert self.process is not None
        error, finish = run_item(self.process, asset, self.stage.name)
        return error, finish if callable(finish) else None

    def _run_batch(self, assets: list[dict], started: set[int]) -> None:
        assert self.process_batch is not None
        for a in assets:  # started with the claim, in its transaction: a missing one was not held
            if a["id"] not in started:
                self._held.remove(a["id"])
                log.warning("asset %s: %s claim was lost before the item started; skipped", a["id"], self.stage.name)
        assets = [a for a in assets if a["id"] in started]
        if not assets:
            return
        self._progress(f"a batch of {len(assets)}")
        finish: Finish | None = None
        try:
            outcomes = self.process_batch(assets)
            if isinstance(outcomes, tuple):
                outcomes, finish = outcomes
        except db.UNAVAILABLE:
            raise
        except Exception as exc:
            log.exception("%s batch of %d failed unexpectedly", self.stage.name, len(assets))
            err = ItemError("internal_error", f"{type(exc).__name__}: {exc}", retryable=True)
            outcomes = {a["id"]: err for a in assets}
        missing = ItemError("internal_error", "the batch returned no outcome for this item", True)
        held = set(self._held)  # complete_early recorded the others already
        ok = [a["id"] for a in assets if a["id"] in held and a["id"] in outcomes and outcomes[a["id"]] is None]
        if ok:
            self._complete(ok, finish=finish)
        for a in assets:
            if a["id"] in held and a["id"] not in ok:
                self._record(a["id"], outcomes.get(a["id"], missing))
        if not self._held:  # every item has its outcome: the batch's lease (if any) is over
            self.store.end_lease()

    def complete_early(self, asset_ids: list[int]) -> None:
        """Record the success of items of the running batch now, while the batch goes on (a batch
        stage's items can finish long before the batch does: the backup's, as rclone reports each
        file). Called from one thread at a time, and only while ``process_batch`` runs: the main
        thread is inside it then, so the engine's connection is free. On a database error nothing
        is lost: the items stay held and the end of the batch records them as usual."""
        ids = [i for i in asset_ids if i in self._held]
        if not ids:
            return
        try:
            self._complete(ids)
        except db.UNAVAILABLE as exc:
            log.warning("%s: recording %d finished item(s) early failed (%s); recorded with the batch",
                        self.stage.name, len(ids), str(exc).strip())

    def _record(self, asset_id: int, error: ItemError | None) -> None:
        if error is None:
            self._complete([asset_id])
            return
        outcome = self.store.fail(asset_id, error.reason_code, error.message, error.retryable)
        self._held.remove(asset_id)
        if outcome is None:
            log.warning("asset %s: %s claim was lost before recording %s", asset_id,
                        self.stage.name, error.reason_code)
        elif outcome.state == "failed":
            self.stats.failed += 1
            log.error("asset %s: %s failed for good after %d attempt(s): %s: %s", asset_id,
                      self.stage.name, outcome.attempts, error.reason_code, error.message)
        else:
            self.stats.retried += 1
            log.warning("asset %s: %s attempt %d failed (%s: %s); retrying after %s", asset_id,
                        self.stage.name, outcome.attempts, error.reason_code, error.message,
                        outcome.not_before.isoformat(timespec="seconds"))

    def _complete(self, asset_ids: list[int], start: list[int] | None = None,
                  finish: Finish | None = None) -> set[int]:
        """Record the success of ``asset_ids`` (with the stage's ``finish`` writes) and start the
        items ``start`` in the same transaction; returns the ids started (still held)."""
        try:
            done_ids, started = self.store.step(asset_ids, start or [], finish)
        except db.UNAVAILABLE:
            raise
        except Exception as exc:  # the stage's own writes failed (rolled back): not done
            if finish is None:
                raise
            log.exception("%s: recording the outcome of %s failed", self.stage.name, asset_ids)
            for asset_id in asset_ids:
                self._record(asset_id, ItemError("internal_error", f"recording the outcome failed: "
                                                 f"{type(exc).__name__}: {exc}", retryable=True))
            return set()
        done = set(done_ids)
        now = time.monotonic()
        for asset_id in asset_ids:
            self._held.remove(asset_id)
            if asset_id in done:
                self.stats.done += 1
                self.stats.recent.append(now)
                log.debug("asset %s: %s done", asset_id, self.stage.name)
            else:
                log.warning("asset %s: %s done, but the claim had been lost (another worker "
                            "may repeat it)", asset_id, self.stage.name)
        return started

    # -- lifecycle -----------------------------------------------------------
    def beat_details(self) -> dict:
        """Heartbeat details: queue depth, done, failed, rate (items/min), this worker's id."""
        depth = self.store.queue_depth()
        return {"queue": depth["pending"], "backing_off": depth["backing_off"],
                "in_progress": depth["claimed"], "failed_items": depth["failed"],
                "counts_capped_at": COUNT_CAP,
                "done": self.stats.done, "failed": self.stats.failed, "retried": self.stats.retried,
                "rate_per_min": self.stats.rate_per_min(), "worker": self.worker_id}

    def beat_status(self, details: dict) -> tuple[str, str]:
        """``(status, message)`` of the next heartbeat; a stage overrides it to report that it
        cannot work (e.g. backup: remote unreachable) while the engine itself is fine."""
        return "ok", (f"{at_least(details['queue'])} pending, {self.stats.done} done, "
                      f"{at_least(details['failed_items'])} failed")

    def run(self, *, once: bool = False, heartbeat_seconds: float = 60.0,
            db_wait_seconds: float = 30.0, heartbeat: bool = True,
            stuck_seconds: float | None = None) -> WorkerStats:
        """Run until stopped (SIGTERM) or, with ``once``, until nothing is due; return the stats.
        ``stuck_seconds``: one item (or batch) without progress for this long beats ``error``."""
        stop = self.stopper.stop
        beat = (HeartbeatService(self.database_url, self.stage.name, heartbeat_seconds, stuck_after=stuck_seconds,
                                 once=once)
                if heartbeat else None)
        self._beat = beat
        listener = self.listener = Listener(self.database_url, f"{self.stage.name}-listen",
                                            [NEW_ASSET_CHANNEL, self.stage.channel],
                                            self.stopper.wake, stop)
        lease = threading.Thread(target=self._keep_lease, name=f"lease-{self.stage.name}", daemon=True)
        if beat is not None:
            beat.start()
        if not once:
            listener.start()
        lease.start()
        last_beat = 0.0
        busy = False

        def work() -> bool:
            nonlocal last_beat, busy
            did = self.work_once()
            if busy and not did and self.on_idle is not None:
                try:
                    self.on_idle()
                except Exception:  # housekeeping: never what stops a worker
                    log.exception("%s: the idle hook failed", self.stage.name)
            busy = did
            # the queue counts cost a few index walks: while busy, counted twice a beat interval
            # (the beat writes them once an interval), not every 2 s whatever the interval
            if beat is not None and (not did or time.monotonic() - last_beat > max(2.0, heartbeat_seconds / 2)):
                last_beat = time.monotonic()
                details = self.beat_details()
                beat.set(*self.beat_status(details), **details)
            return did

        try:
            loop.run(work, stopper=self.stopper, heartbeat=beat, idle_seconds=self.stage.poll_s,
                     once=once, db_wait_seconds=db_wait_seconds)
            if once and not stop.is_set():
                # Another replica's enqueue that raced this one's completion can leave a pending
                # row for an asset that is done (READ COMMITTED: its insert waited for our delete,
                # then went in). A long-running worker's prune drops it within 30 s; a --once run
                # leaves none behind: its own enqueues all came before this pass.
                with contextlib.suppress(*db.UNAVAILABLE):
                    self.store.prune_pass()
        finally:
            stop.set()
            self._shutdown(beat)
            listener.join()
            lease.join(5)
        return self.stats

    def _shutdown(self, beat: HeartbeatService | None) -> None:
        try:
            if self._held:
                self.store.release(self._held)
            self._held = []
            self.store.end_lease()
            self.store.remove_worker()
        except db.UNAVAILABLE:
            log.warning("database unavailable at shutdown: claims return to pending via lease expiry")
        finally:
            self.store.db.close()
        if beat is not None:
            beat.stop(f"stopped after {self.stats.done} done, {self.stats.failed} failed")

    def _keep_lease(self) -> None:
        lease_store = StageStore(db.Database(self.database_url, f"{self.stage.name}-lease"),
                                 self.stage, self.worker_id)
        try:
            while not self.stopper.stop.wait(self.stage.lease_s / 4):
                # the main loop reports an outage; the lease resumes when the database is back
                with contextlib.suppress(*db.UNAVAILABLE):
                    lease_store.touch_worker()
        finally:
            lease_store.db.close()


def run_stage(stage: Stage, database_url: str, *, process: Process | None = None,
              process_batch: ProcessBatch | None = None, once: bool = False,
              heartbeat_seconds: float = 60.0, db_wait_seconds: float = 30.0,
              stuck_seconds: float | None = None, on_idle: Callable[[], None] | None = None) -> WorkerStats:
    """Run one worker of ``stage`` in this process with SIGTERM/SIGINT handling (the CLI entry)."""
    worker = StageWorker(stage, database_url, process=process, process_batch=process_batch, on_idle=on_idle)
    worker.stopper.install_signal_handlers()
    log.info("%s worker %s starting%s", stage.name, worker.worker_id, " (--once)" if once else "")
    stats = worker.run(once=once, heartbeat_seconds=heartbeat_seconds, db_wait_seconds=db_wait_seconds,
                       stuck_seconds=stuck_seconds)
    log.info("%s worker stopped: %d done, %d failed, %d retried", stage.name, stats.done,
             stats.failed, stats.retried)
    return stats


def reset_failed(stage: Stage, database_url: str, asset_ids: list[int] | None = None) -> int:
    """Put ``failed`` items of ``stage`` (all, or ``asset_ids``) back to pending; return how many.

    SQL effect: ``state = 'pending', attempts = 0, not_before = now()`` on those stage_jobs rows
    (reason_code and last_error are kept until the next outcome), then ``pg_notify('pf_stage_<name>')``.
    """
    store = StageStore(db.Database(database_url, f"{stage.name}-reset"), stage, "reset")
    try:
        return store.reset_failed(asset_ids)
    finally:
        store.db.close()


def at_least(count: int) -> str:
    """A heartbeat count as text: ``"1000+"`` when it reached :data:`COUNT_CAP` (counting stopped)."""
    return f"{count}+" if count >= COUNT_CAP else str(count)


def queue_depth(stage: Stage, database_url: str) -> dict[str, int]:
    """``{pending, backing_off, claimed, failed}`` counts of ``stage`` (for status and dashboards)."""
    store = StageStore(db.Database(database_url, f"{stage.name}-status"), stage, "status")
    try:
        return store.queue_depth()
    finally:
        store.db.close()
