"""The stage engine's store: the only code that runs the engine's SQL (``stage_queries.sql``).

Every query is composed once per stage with the stage's flag column (``psycopg2.sql.Identifier``)
and its constant extra filter; parameters are ``%(name)s`` only.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg2 import sql

from photo_factory import db

if TYPE_CHECKING:  # pragma: no cover
    from photo_factory.worker import Stage

_QUERIES = db.load_queries(Path(__file__).with_name("stage_queries.sql"))

#: :meth:`StageStore.queue_depth` counts up to this many of each kind (a heartbeat's cost is flat).
COUNT_CAP = 1000
#: :meth:`StageStore.prune_jobs` looks at this many job rows a round.
PRUNE_BATCH = 1000

#: The statements every item and round runs, prepared once per connection (``PREPARE`` …
#: ``EXECUTE``) with their parameters' types: planning them was a third of PostgreSQL's time per
#: item (an UPDATE of media_assets and its two dozen indexes took ~1 ms to plan, each time).
PREPARED: dict[str, dict[str, str]] = {
    "enqueue_pending": {"stage": "text", "after": "bigint", "limit": "integer"},
    "claim": {"stage": "text", "worker": "text", "limit": "integer", "lease": "float8", "start": "boolean"},
    "start": {"stage": "text", "worker": "text", "ids": "bigint[]"},
    "complete": {"stage": "text", "worker": "text", "ids": "bigint[]"},
    "lock_leases": {"stage": "text"},
    "claim_lease": {"stage": "text", "worker": "text", "limit": "integer", "lease": "float8"},
    "complete_lease": {"stage": "text", "worker": "text", "ids": "bigint[]"},
}
_PARAM = re.compile(r"%\((\w+)\)s")


class PreparedStatements:
    """Named queries run through server-side prepared statements, prepared at their first use on
    a connection (and again on a new one: after a reconnect). ``types``: the parameters' SQL types
    by name (None: PostgreSQL infers them, as it can for ``column = $n`` and assignments)."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._order: dict[str, list[str]] = {}

    def execute(self, cur: Any, statement: str, query: Any, params: dict[str, Any],
                types: dict[str, str] | None = None) -> None:
        conn = cur.connection
        if conn is not self._conn:
            self._conn, self._order = conn, {}
        order = self._order.get(statement)
        if order is None:
            text = query if isinstance(query, str) else query.as_string(conn)
            order = list(dict.fromkeys(_PARAM.findall(text)))
            # PREPARE is not undone by a rollback: it may exist from a transaction that failed later
            cur.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", (statement,))
            if cur.fetchone() is None:
                body = _PARAM.sub(lambda m: f"${order.index(m.group(1)) + 1}", text)
                typed = f" ({', '.join(types[k] for k in order)})" if types else ""
                cur.execute(f"PREPARE {statement}{typed} AS {body}")
            self._order[statement] = order
        cur.execute(f"EXECUTE {statement} ({', '.join(['%s'] * len(order))})", [params[k] for k in order])

#: What a stage's ``process`` may return: more writes of the item's outcome (the geocoder's place),
#: run on the engine's cursor in the transaction that completes the item, before the flag is set.
#: The callable comes from the stage's own store (which holds its SQL).
Finish = Callable[[Any], None]


def compose(stage: Stage) -> dict[str, sql.Composed]:
    """The engine's queries with ``{flag}`` and ``{where}`` filled in for ``stage``."""
    columns = sql.SQL(", ").join(sql.Identifier("a", c) for c in dict.fromkeys(("id", *stage.columns)))
    parts = {"flag": sql.Identifier(stage.flag), "where": sql.SQL(stage.where),
             "columns": columns if stage.columns else sql.SQL("a.*")}
    return {name: sql.SQL(text).format(**parts) for name, text in _QUERIES.items()}


@dataclass(frozen=True)
class Outcome:
    """What happened to one failed item: its new state (``pending`` = will retry) and attempt count."""

    asset_id: int
    state: str
    attempts: int
    not_before: datetime


class StageStore:
    """Job-state operations of one stage for one worker (``worker_id``) on one connection.

    A stage that starts its whole batch at once (``Stage.start_on_claim``: the backup) is *leased*:
    its claim writes one ``stage_leases`` row naming the batch's items instead of rewriting each
    item's job row (migration 0026); the items' rows are written only by their outcome. Every
    method keeps the same promises for both forms."""

    def __init__(self, database: db.Database, stage: Stage, worker_id: str):
        self.db = database
        self.stage = stage
        self.worker_id = worker_id
        self._q = compose(stage)
        #: The last asset id :meth:`enqueue_pending` looked at (0: look from the start).
        self._enqueued_after = 0
        #: The last job row's asset id :meth:`prune_jobs` looked at (0: from the start).
        self._pruned_after = 0
        self._prepared = PreparedStatements()

    @property
    def leased(self) -> bool:
        """Claims are lease rows (see the class docstring): a stage that starts on its claim."""
        return self.stage.start_on_claim

    def _execute(self, cur: Any, name: str, params: dict[str, Any]) -> None:
        """Run query ``name``: a :data:`PREPARED` one through its prepared statement (prepared
        at its first use on this connection), any other as text."""
        types = PREPARED.get(name)
        if types is None:
            cur.execute(self._q[name], params)
        else:
            self._prepared.execute(cur, f"pf_{self.stage.name}_{name}", self._q[name], params, types)

    def _run(self, name: str, params: dict[str, Any]) -> list[dict]:
        base = {"stage": self.stage.name, "worker": self.worker_id}
        with self.db.transaction() as cur:
            self._execute(cur, name, {**base, **params})
            return list(cur.fetchall()) if cur.description else []

    def touch_worker(self) -> None:
        """Register this worker (or refresh its lease): claims of unseen workers are recovered."""
        self._run("touch_worker", _whoami())

    def remove_worker(self) -> None:
        self._run("remove_worker", {})

    def enqueue_pending(self, limit: int) -> None:
        """Create ``pending`` job rows for pending assets that have none yet, looking at up to
        ``limit`` assets after the last one looked at (new assets have higher ids): a round
        costs what is new, not the whole backlog of failed and queued items. :meth:`rewind`
        starts the next look from the first asset again (assets whose flag was cleared, e.g.
        by ``--rebuild``, and rows committed out of id order are found by that full pass)."""
        row = self._run("enqueue_pending", {"limit": limit, "after": self._enqueued_after})[0]
        if row["last"] is not None:
            self._enqueued_after = int(row["last"])

    def rewind(self) -> None:
        """The next :meth:`enqueue_pending` looks from the first pending asset again."""
        self._enqueued_after = 0

    def claim_round(self, limit: int, enqueue: int, start: int, *, register: bool = False
                    ) -> tuple[list[dict], set[int]]:
        """:meth:`enqueue_pending` (``enqueue``), :meth:`claim` (``limit``) and :meth:`start` of
        the first ``start`` claimed items in ONE transaction: a round costs one commit (a
        durable commit is most of PostgreSQL's CPU per item), not three. A stage that starts
        on its claim (``Stage.start_on_claim``: the backup) has every claimed item started by the
        claim itself (one lease row for the batch; no job row written). ``register``: the
        worker's :meth:`touch_worker` too (its first round: registered by the commit that makes
        its first claims, never after them). Returns the claimed rows and the ids started."""
        base = {"stage": self.stage.name, "worker": self.worker_id}
        with self.db.transaction() as cur:
            # Queue bookkeeping, not the library's truth: this commit need not wait for its WAL
            # flush (~8 ms here, the worker idle meanwhile). Only a PostgreSQL crash can lose it
            # (the jobs are then pending again, unstarted); a killed worker cannot: its start is
            # committed and counts. The next durable commit (a completion) flushes it anyway.
            # Except a stage whose claim is its start (the backup: a batch of hundreds uploads for
            # minutes): a forgotten claim would let a second replica upload the same files at the
            # same time, so it waits — once a batch.
            cur.execute("SET LOCAL synchronous_commit = " + ("on" if self.leased else "off"))
            if register:
                self._execute(cur, "touch_worker", {**base, **_whoami()})
            self._execute(cur, "enqueue_pending", {**base, "limit": enqueue, "after": self._enqueued_after})
            last = cur.fetchone()["last"]
            assets = self._claim(cur, limit)
            started: set[int] = set()
            if self.stage.start_on_claim:
                started = {a["id"] for a in assets}
            elif assets and start > 0:
                self._execute(cur, "start", {**base, "ids": [a["id"] for a in assets[:start]]})
                started = {r["asset_id"] for r in cur.fetchall()}
        if last is not None:  # only once committed: a rolled-back round looks again
            self._enqueued_after = int(last)
        return assets, started

    def _claim(self, cur: Any, limit: int) -> list[dict]:
        """The claim on ``cur`` (in the caller's transaction). A leased stage's: its claims are
        serialized (``lock_leases``, a statement of its own so that the claim's snapshot is taken
        after it) and one lease row names the batch (a worker may hold several; its
        :meth:`end_lease` drops them all once nothing is held)."""
        base = {"stage": self.stage.name, "worker": self.worker_id}
        if not self.leased:
            self._execute(cur, "claim", {**base, "limit": limit, "lease": self.stage.lease_s,
                                         "start": self.stage.start_on_claim})
            return list(cur.fetchall())
        self._execute(cur, "lock_leases", base)
        self._execute(cur, "claim_lease", {**base, "limit": limit, "lease": self.stage.lease_s})
        return list(cur.fetchall())

    def step(self, complete: list[int], start: list[int], finish: Finish | None = None) -> tuple[list[int], set[int]]:
        """Complete ``complete`` (after ``finish``, the stage's own writes for them) and start
        ``start`` in ONE transaction: an item's completion and the next item's attempt share a
        commit. Returns (ids completed: the flag set and the job row dropped, for items this worker
        still held; ids started, as :meth:`start` returns them)."""
        base = {"stage": self.stage.name, "worker": self.worker_id}
        done: list[int] = []
        started: set[int] = set()
        with self.db.transaction() as cur:
            if finish is not None:
                finish(cur)
            if complete:
                self._execute(cur, "complete_lease" if self.leased else "complete", {**base, "ids": list(complete)})
                done = [r["id"] for r in cur.fetchall()]
            if start:
                self._execute(cur, "start", {**base, "ids": list(start)})
                started = {r["asset_id"] for r in cur.fetchall()}
        return done, started

    def claim(self, limit: int) -> list[dict]:
        """Claim up to ``limit`` due pending items (at the tail of the queue only this worker's
        fair share among the stage's live workers): the media_assets rows + ``stage_attempts``."""
        with self.db.transaction() as cur:
            return self._claim(cur, limit)

    def start(self, asset_ids: list[int]) -> set[int]:
        """Mark claimed items started (each counts an attempt); return those this worker still
        holds: an item missing from the answer was recovered from us and must not be processed."""
        if not asset_ids:
            return set()
        return {r["asset_id"] for r in self._run("start", {"ids": list(asset_ids)})}

    def fail(self, asset_id: int, reason_code: str, message: str, retryable: bool) -> Outcome | None:
        """Record a failure: back to ``pending`` after a backoff, or ``failed`` (None if claim lost)."""
        s = self.stage
        rows = self._run("fail_lease" if self.leased else "fail", {
            "asset_id": asset_id, "reason_code": reason_code, "message": message[:4000],
            "retryable": retryable, "max_attempts": s.max_attempts,
            "backoff_base": s.backoff_base_s, "backoff_max": s.backoff_max_s,
        })
        return Outcome(**rows[0]) if rows else None

    def release(self, asset_ids: list[int]) -> None:
        """Give claimed items back to pending without counting an attempt (unstarted ones never
        counted; a started one whose outcome was lost with the database is not its fault)."""
        if asset_ids:
            self._run("release_lease" if self.leased else "release", {"ids": list(asset_ids)})

    def end_lease(self) -> None:
        """Drop this worker's lease once every item of it has its outcome recorded or was given
        back (a leased stage's batch is over); nothing for a stage of row claims."""
        if self.leased:
            self._run("end_lease", {})

    def recover_stale(self) -> list[dict]:
        """Claims of dead or hung workers back to ``pending``: ``asset_id, state, started``. Only
        started items count as attempted (``failed`` / ``worker_lost`` after the last attempt)."""
        s = self.stage
        params = {"max_attempts": s.max_attempts, "claim_timeout": s.claim_timeout_s, "lease": s.lease_s}
        rows = self._run("recover_stale", params)  # a leased stage too: row claims of older versions
        return rows + self._run("recover_leases", params) if self.leased else rows

    def prune_jobs(self, limit: int = PRUNE_BATCH) -> int:
        """Drop unclaimed job rows of assets that no longer need this stage, looking at up to
        ``limit`` job rows after the last one looked at (from the first again after the last):
        a round costs ``limit`` probes, a full pass takes as many rounds as it needs. Returns
        the rows dropped."""
        row = self._run("prune_jobs", {"after": self._pruned_after, "limit": limit})[0]
        self._pruned_after = int(row["last"]) if row["last"] is not None and row["looked"] >= limit else 0
        return int(row["pruned"])

    def prune_pass(self) -> int:
        """One whole pass over the stage's job rows (round by round), from the first."""
        self._pruned_after = 0
        total = self.prune_jobs()
        while self._pruned_after != 0:
            total += self.prune_jobs()
        return total

    def queue_depth(self, cap: int = COUNT_CAP) -> dict[str, int]:
        """``{pending, backing_off, claimed, failed}`` for this stage (pending includes backing_off),
        each counted up to ``cap`` (a count equal to ``cap`` means at least that many)."""
        return dict(self._run("queue_depth", {"cap": cap})[0])

    def list_failed(self, limit: int = 100) -> list[dict]:
        return self._run("list_failed", {"limit": limit})

    def job_state(self, asset_id: int) -> dict | None:
        rows = self._run("job_state", {"asset_id": asset_id})
        return rows[0] if rows else None

    def reset_failed(self, asset_ids: list[int] | None = None) -> int:
        """``failed`` rows (all, or these ids) back to ``pending`` with 0 attempts; wake the workers."""
        ids = list(asset_ids) if asset_ids is not None else None
        return int(self._run("reset_failed", {"ids": ids})[0]["n"])


def _whoami() -> dict[str, Any]:
    """A worker's registration: the machine and process it runs as."""
    return {"host": socket.gethostname(), "pid": os.getpid()}
