"""The database outage: the one problem the monitor cannot record in the database.

While factory-db is unreachable, the monitor that *led* before the outage (a session advisory
lock, see ``queries.sql: leader``) sends one root alert ("factory-db is unreachable") after
``confirm_s`` of failures; every other monitor stays quiet, so two monitors never alert twice.
When the database is back, the same monitor says how long it lasted and records the outage as
a resolved incident; service conditions are held for ``grace_s`` (until the services beat).
Times are monotonic for durations (a clock jump does not stretch an outage) and wall-clock only
for display.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service_monitor.rootcause import duration

log = logging.getLogger(__name__)
SUBJECT = "factory-db is unreachable"


@dataclass
class Outage:
    send: Callable[[str, str], list[str]]
    confirm_s: float = 30.0
    grace_s: float = 180.0
    clock: Callable[[], float] = time.monotonic
    since: float | None = None
    since_wall: datetime | None = None
    error: str = ""
    told: bool = False
    back_at: float | None = None
    was_leader: bool = False
    held: bool = False  # maintenance was on when the database went away
    sent: list[str] = field(default_factory=list)

    def failed(self, error: str) -> None:
        """A round could not reach the database."""
        now = self.clock()
        if self.since is None:
            self.since, self.since_wall, self.error = now, datetime.now(UTC), error
            log.warning("factory-db unreachable: %s", error)
        if self.told or not self.was_leader or self.held or now - self.since < self.confirm_s:
            return
        text = (f"The database does not answer: {error}. Every service waits for it (their own alerts "
                f"are held). Since {self.since_wall:%Y-%m-%d %H:%M:%S %Z}.")
        failed = self.send(f"[Photo Factory] PROBLEM: {SUBJECT}", text)
        self.told = not failed
        if self.told:
            self.sent.append("down")

    def recovered(self) -> tuple[datetime, str, bool] | None:
        """A round reached the database again: (since, message, told) when an outage ended."""
        if self.since is None:
            return None
        lasted = duration(self.clock() - self.since)
        since, told = self.since_wall or datetime.now(UTC), self.told
        message = f"unreachable for {lasted}: {self.error}"
        if told:
            failed = self.send(f"[Photo Factory] RESOLVED: {SUBJECT}",
                               f"The database is back after {lasted} ({self.error}).")
            if not failed:
                self.sent.append("up")
        log.info("factory-db is back after %s", lasted)
        self.since, self.since_wall, self.told, self.error = None, None, False, ""
        self.back_at = self.clock()
        return since, message, told

    def in_grace(self) -> bool:
        """True shortly after an outage: services had no chance to beat yet."""
        return self.back_at is not None and self.clock() - self.back_at < self.grace_s
