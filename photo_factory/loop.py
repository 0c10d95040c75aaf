"""The one service loop, written once.

A service supplies ``work_once() -> bool`` ("did work: call me again now"). The loop sleeps
on an event between idle rounds, so SIGTERM (or a NOTIFY) wakes it at once; an unreachable
database backs off instead of crashing; ``once=True`` returns when there is no more work.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from photo_factory import db, early_stop, tools
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

    def install_signal_handlers(self, hard_stop_after: float = 10.0) -> None:
        """First SIGTERM/SIGINT: stop gracefully (running tools are abandoned at once, see
        :func:`photo_factory.tools.set_stop_event`). Second: stop hard — kill every tool child and
        exit, at the latest ``hard_stop_after`` seconds later even if clean-up hangs."""
        tools.set_stop_event(self.stop)

        def handler(signum: int, _frame: object) -> None:
            self.signals += 1
            if self.signals > 1:
                log.warning("second signal: stopping now")
                tools.kill_all()
                _exit_later(hard_stop_after)
                raise SystemExit(1)
            log.info("signal %s: finishing current work, then stopping", signal.Signals(signum).name)
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        early = early_stop.handover()  # after ours are in place: no signal falls between the two
        if early is not None:
            self.signals += 1
            log.info("signal %s during start-up: stopping", signal.Signals(early).name)
            self.request_stop()


def _exit_later(seconds: float) -> None:
    """A hard stop must end the process even if a clean-up step hangs (a tool, a mount)."""

    def force() -> None:
        time.sleep(seconds)
        log.error("clean-up did not finish within %.0fs of the hard stop: exiting now", seconds)
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=force, name="hard-stop", daemon=True).start()


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
    if heartbeat is not None and once:
        heartbeat.once = True  # a --once run never stands for the running service
    while not stopper.stop.is_set():
        if heartbeat is not None:
            heartbeat.working()
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
            if heartbeat is not None:
                heartbeat.idle()
            stopper.stop.wait(backoff)  # file events or NOTIFYs must not shorten the backoff
            backoff = min(backoff * 2, max_backoff)
            continue
        finally:
            if heartbeat is not None:
                heartbeat.idle()
        if down_since is not None:
            log.info("database is back")
            down_since = None
            backoff = 1.0
        if not did_work:
            if once:
                return
            stopper.sleep(idle_seconds)
