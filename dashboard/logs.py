"""Service logs for the Service page: the process logs ``make run``'s supervisor writes, or a
container's Docker logs; tailed, de-duplicated timestamps, filtered by text (pure but the tail).

``make run`` (``photo_factory.devrun``) writes each child's output to ``<var>/logs/<service>.log``
(``<var>`` is ``PF_VAR_DIR``, default ``var``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Docker's own RFC 3339 timestamp in front of a line that carries our logging timestamp too
_DOCKER_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) (?=\d{4}-\d\d-\d\d[ T])")


def run_log_dir() -> Path:
    """Where ``make run`` writes the process logs."""
    return Path(os.environ.get("PF_VAR_DIR", "var")) / "logs"


def process_log(service: str, folder: Path | None = None) -> Path | None:
    """The service's log file under ``make run``, or None when there is none."""
    path = (folder or run_log_dir()) / f"{service}.log"
    return path if path.is_file() else None


def tail(path: Path, lines: int = 500, max_bytes: int = 2 << 20) -> str:
    """The last ``lines`` lines of ``path`` (reads at most ``max_bytes`` from its end)."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read()
    text = data.decode("utf-8", "replace")
    out = text.splitlines()
    if size > max_bytes and out:
        out = out[1:]  # the first line was cut in the middle
    return "\n".join(out[-lines:])


def clean(text: str) -> str:
    """Drop Docker's timestamp where the line has its own (no doubled timestamps)."""
    return "\n".join(_DOCKER_TS.sub("", line) for line in text.splitlines())


def matching(text: str, needle: str) -> str:
    """The lines containing ``needle`` (case-insensitive); all lines for an empty filter."""
    if not needle.strip():
        return text
    n = needle.strip().lower()
    return "\n".join(line for line in text.splitlines() if n in line.lower())
