"""Heartbeats: every process reports its status on an interval (its own ``service_instances``
row), and the service's ``system_status`` row (+ history), which every reader reads, is derived
from the service's live instances in the same transaction (query ``derive_status``): a finished
``--once`` run beside the running service never makes the service look stopped.

The service sets its current state with :meth:`HeartbeatService.set`; a background thread with
its own connection writes it every ``interval`` seconds, so a long unit of work never makes a
live service look dead. When the database is down the beat is skipped (and logged once);
the next one goes through when it is back.

But a *stuck* service must not look alive either: the loop marks each unit of work
(:meth:`working` … :meth:`idle`) and the service marks its progress inside it (:meth:`progress`);
a unit with no progress for ``stuck_after`` seconds is reported as ``error`` ("stuck: …, what it
was doing") whatever the service last set, until it makes progress again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photo_factory import __version__, db, health_file

log = logging.getLogger(__name__)

STATUSES = ("ok", "degraded", "error", "stopping", "stopped", "stale", "starting")
_QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))


def instance_id(host: str, pid: int, started_at: datetime) -> str:
    """``host:pid:start:nonce``: unique per process (also when a container restarts as PID 1
    again) and per heartbeat object (two in one process in the same millisecond)."""
    return f"{host}:{pid}:{int(started_at.timestamp() * 1000)}:{secrets.token_hex(2)}"


class HeartbeatService:
    """``once``: this process is a ``--once`` run (default: ``--once`` on the command line);
    :func:`photo_factory.loop.run` sets it too."""

    def __init__(self, database_url: str, service: str, interval: float, stuck_after: float | None = None,
                 *, once: bool | None = None, stale_factor: float = 3.0):
        self.service = service
        self.once = ("--once" in sys.argv[1:]) if once is None else once
        self.stale_factor = stale_factor
        self.interval = interval
        self.stuck_after = stuck_after
        self._work_since: float | None = None  # monotonic start of the current unit of work
        self._progress_at = 0.0
        self._doing = ""
        self._reported_stuck = False
        self._db = db.Database(database_url, f"{service}-heartbeat", _QUERIES)
        self._lock = threading.Lock()
        self._status = "starting"
        self._message = "starting"
        self._details: dict[str, Any] = {}
        self._started_at = datetime.now(UTC)
        self.host = socket.gethostname()
        self.instance_id = instance_id(self.host, os.getpid(), self._started_at)
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._db_down_logged = False
        self.beats = 0

    # -- state -------------------------------------------------------------
    def set(self, status: str, message: str = "", **details: Any) -> None:
        """Record the current state; it is written at the next beat (or now with ``beat()``)."""
        if status not in STATUSES:
            raise ValueError(f"unknown heartbeat status {status!r}")
        with self._lock:
            changed = status != self._status
            self._status, self._message = status, message
            self._details.update(details)
        if changed:
            self._kick.set()  # a new status is written at once by the heartbeat thread

    def update(self, **details: Any) -> None:
        with self._lock:
            self._details.update(details)

    @property
    def status(self) -> str:
        return self._effective()[0]

    # -- progress (stuck detection) ---------------------------------------------
    def working(self, what: str = "a unit of work") -> None:
        """A unit of work starts (the loop calls this before each ``work_once``)."""
        with self._lock:
            self._work_since = self._progress_at = time.monotonic()
            self._doing = what

    def progress(self, what: str | None = None) -> None:
        """The current unit of work moved on (``what``: what it does now, for the stuck message)."""
        with self._lock:
            self._progress_at = time.monotonic()
            if what is not None:
                self._doing = what
            was_stuck = self._reported_stuck
        if was_stuck:
            self._kick.set()  # write the recovery at once

    def idle(self) -> None:
        """The unit of work ended (the loop calls this after each ``work_once``)."""
        with self._lock:
            self._work_since = None
            was_stuck = self._reported_stuck
        if was_stuck:
            self._kick.set()

    def stuck_for(self) -> float | None:
        """Seconds without progress inside the current unit of work, when over ``stuck_after``."""
        if self.stuck_after is None or self._work_since is None:
            return None
        quiet = time.monotonic() - self._progress_at
        return quiet if quiet > self.stuck_after else None

    def _effective(self) -> tuple[str, str]:
        stuck = self.stuck_for()
        if stuck is None or self._status in ("stopping", "stopped"):
            return self._status, self._message
        return "error", f"stuck: no progress for {stuck:.0f}s while {self._doing}; last status: {self._message}"

    # -- writing -------------------------------------------------------------
    def beat(self) -> bool:
        """Write the current state now. Returns False when the database is unreachable."""
        with self._lock:
            status, message = self._effective()
            stuck = self.stuck_for() is not None
            if stuck != self._reported_stuck:
                log.log(logging.ERROR if stuck else logging.INFO, "%s: %s", self.service,
                        message if stuck else "making progress again")
            self._reported_stuck = stuck
            params = {
                "service": self.service,
                "status": status,
                "message": message[:1000],
                "details": db.json(dict(self._details)),
                "interval_s": self.interval,
                "host": self.host,
                "pid": os.getpid(),
                "version": __version__,
                "started_at": self._started_at,
                "instance_id": self.instance_id,
                "once": self.once,
                "stale_factor": self.stale_factor,
            }
        try:
            with self._write_lock, self._db.transaction() as cur:  # the thread and explicit beats
                cur.execute(self._db.sql("lock_service"), params)
                cur.execute(self._db.sql("upsert_instance"), params)
                cur.execute(self._db.sql("derive_status"), params)
        except db.UNAVAILABLE as exc:
            if not self._db_down_logged:
                log.warning("heartbeat for %s skipped: database unavailable (%s)",
                            self.service, str(exc).strip())
                self._db_down_logged = True
            return False
        self._db_down_logged = False
        self.beats += 1
        if not self.once:  # the container health check reads the committed beat (health_file.py)
            health_file.write(self.service, status, self.interval, message)
        return True

    def start(self, *, first_beat_now: bool = True) -> HeartbeatService:
        """Beat, then keep beating in a thread. ``first_beat_now=False``: the thread writes the
        first beat too, while the caller goes on (its connection and commit, ~20 ms, off the
        start-up's path)."""
        if first_beat_now:
            self.beat()
        else:
            self._kick.set()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.service}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            self._kick.wait(self._next_wait())
            self._kick.clear()
            if self._stop.is_set():
                return
            try:
                self.beat()
            except Exception:  # never let the heartbeat thread die
                log.exception("heartbeat for %s failed", self.service)

    def _next_wait(self) -> float:
        """The interval, or less when the current unit of work turns stuck before it ends."""
        with self._lock:
            if self.stuck_after is None or self._work_since is None or self._reported_stuck:
                return self.interval
            until_stuck = self._progress_at + self.stuck_after - time.monotonic()
        return max(0.05, min(self.interval, until_stuck + 0.05))

    def stop(self, message: str = "stopped") -> None:
        """Beat ``stopping`` and end the thread (called on graceful shutdown)."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.set("stopping", message)
        self.beat()
        self._db.close()
