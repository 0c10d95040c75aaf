"""Incomplete inbox files: they wait for the rest of their bytes, visibly, for a grace period.

A file whose structure ends early (librarian/checks.py) is not taken. It stays in the inbox and
is listed here with what is missing and since when it stopped changing; the heartbeat shows the
count and the oldest. If it changes (grows) it is checked again; once it has stayed unchanged
and incomplete for the grace period (``PF_INCOMPLETE_GRACE_SECONDS``) it is quarantined as
``truncated``.

"Stopped changing" is the file's own change time when the inbox's clock is ours (so a restart
does not restart the grace), else the first time this librarian saw it in that state.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Incomplete:
    size: int
    mtime_ns: int
    #: wall-clock time the file stopped changing
    since: float
    detail: str


class Waiting:
    """Thread-safe registry of incomplete files, keyed by inbox path."""

    def __init__(self, grace_seconds: float, wall: Callable[[], float] = time.time):
        self.grace = grace_seconds
        self.wall = wall
        #: trust the file's mtime/ctime as "stopped changing" (set by the service when the inbox's
        #: clock agrees with ours)
        self.trust_file_times = False
        self._lock = threading.Lock()
        self._files: dict[Path, Incomplete] = {}

    def overdue(self, path: Path, st: os.stat_result, detail: str) -> bool:
        """Note ``path`` as incomplete in state ``st``; True once the grace period is over."""
        now = self.wall()
        with self._lock:
            known = self._files.get(path)
            if known is None or (known.size, known.mtime_ns) != (st.st_size, st.st_mtime_ns):
                since = now
                if self.trust_file_times:
                    since = min(now, max(st.st_mtime, st.st_ctime))
                known = self._files[path] = Incomplete(st.st_size, st.st_mtime_ns, since, detail)
            known.detail = detail
            return now - known.since >= self.grace

    def remaining(self, path: Path) -> float:
        """Seconds of grace ``path`` has left (0 when unknown or over)."""
        with self._lock:
            known = self._files.get(path)
        return 0.0 if known is None else max(0.0, known.since + self.grace - self.wall())

    def detail(self, path: Path) -> str:
        with self._lock:
            known = self._files.get(path)
        return "" if known is None else known.detail

    def forget(self, path: Path) -> None:
        with self._lock:
            self._files.pop(path, None)

    def prune(self) -> None:
        """Drop files that are gone from the inbox (deleted or moved away by the user)."""
        with self._lock:
            for path in [p for p in self._files if not os.path.lexists(p)]:
                del self._files[path]

    def __len__(self) -> int:
        return len(self._files)

    def summary(self, root: Path, limit: int = 10) -> dict:
        """Heartbeat details: how many wait, since when the oldest, and the first few."""
        with self._lock:
            items = sorted(self._files.items(), key=lambda kv: kv[1].since)
        if not items:
            return {"incomplete_waiting": 0, "incomplete_oldest_since": None, "incomplete_files": []}
        out = []
        for path, inc in items[:limit]:
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                rel = path.name
            out.append({"path": os.fsencode(rel).decode("utf-8", "replace"), "size": inc.size,
                        "missing": inc.detail, "since": _iso(inc.since),
                        "quarantined_at": _iso(inc.since + self.grace)})
        return {"incomplete_waiting": len(items), "incomplete_oldest_since": _iso(items[0][1].since),
                "incomplete_files": out}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
