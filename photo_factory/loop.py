"""The one service loop, written once.

A service supplies ``work_once() -> bool`` ("did work: call me again now"). The loop sleeps
on an event between idle rounds, so SIGTERM (or a NOTIFY) wakes it at once; an unreachable
database backs off instead of crashing; ``once=True`` returns when there is no more work.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from photo_factory import db
from photo_factory.heartbeat import HeartbeatService

log = logging.getLogger(__name__)


@dataclass
class Stopper:
    """Stop and wake-up events shared by a service, its loop and its signal handlers."""

    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    signals: int = 0

    def request_stop(self) -> None:
        self.stop.set()
        self.wake.set()

    def sleep(self, seconds: float) -> None:
        """Sleep until the timeout, a stop request, or a wake-up (NOTIFY), whichever is first."""
        self.wake.wait(seconds)
        self.wake.clear()

    def install_signal_handlers(self) -> None:
        """First SIGTERM/SIGINT: stop gracefully. Second: stop hard."""

        def handler(signum: int, _frame: object) -> None:
            self.signals += 1
            if self.signals > 1:
                log.warning("second signal: stopping now")
                raise SystemExit(1)
            log.info("signal %s: finishing current work, then stopping", signal.Signals(signum).name)
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


class DatabaseGone(Exception):
    """The database stayed unreachable for longer than a ``--once`` run may wait."""


def run(
    work_once: Callable[[], bool],
    *,
    stopper: Stopper,
    heartbeat: HeartbeatService | None,
    idle_seconds: float,
    once: bool = False,
    db_wait_seconds: float = 30.0,
    max_backoff: float = 60.0,
) -> None:
    """Call ``work_once`` until stopped (or, with ``once``, until it reports no work)."""
    backoff = 1.0
    down_since: float | None = None
    while not stopper.stop.is_set():
        try:
            did_work = work_once()
        except db.UNAVAILABLE as exc:
            now = time.monotonic()
            down_since = down_since or now
            msg = f"database unavailable: {str(exc).strip() or type(exc).__name__}"
            log.warning("%s; retrying in %.0fs", msg, backoff)
            if heartbeat is not None:
                heartbeat.set("error", msg, last_error=msg)
                heartbeat.beat()
            if once and now - down_since > db_wait_seconds:
                raise DatabaseGone(msg) from exc
            stopper.stop.wait(backoff)  # file events or NOTIFYs must not shorten the backoff
            backoff = min(backoff * 2, max_backoff)
            continue
        if down_since is not None:
            log.info("database is back")
            down_since = None
            backoff = 1.0
        if not did_work:
            if once:
                return
            stopper.sleep(idle_seconds)
