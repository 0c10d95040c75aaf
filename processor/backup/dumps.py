"""Database dumps: ``pg_dump`` in custom format, their names on the remote, and retention.

Dumps are named ``photo_factory-YYYYMMDDTHHMMSSZ.dump`` (UTC) so that the newest sorts last and
the retention policy can be computed from names alone. Retention keeps the newest dump of each
of the last ``daily`` days and of each of the last ``weekly`` ISO weeks (plus always the newest
dump); everything else that *we* uploaded is expired. Files on the remote that do not follow our
naming are never touched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from photo_factory import files, tools

log = logging.getLogger(__name__)

PREFIX = "photo_factory-"
SUFFIX = ".dump"
_NAME = re.compile(r"^photo_factory-(\d{8}T\d{6})Z\.dump$")
#: Folder of the dumps on the backup remote.
REMOTE_DIR = "db"
#: pg_dump / pg_restore are killed after this long (a catalogue dumps in seconds to minutes).
TIMEOUT_S = 3600.0


class DumpError(Exception):
    """pg_dump / pg_restore failed; ``reason`` is a typed code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def dump_name(at: datetime) -> str:
    return f"{PREFIX}{at.astimezone(UTC):%Y%m%dT%H%M%S}Z{SUFFIX}"


def parse_dump_name(name: str) -> datetime | None:
    """The UTC time encoded in one of our dump names, or None for any other file."""
    m = _NAME.match(name)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Retention:
    daily: int = 7
    weekly: int = 4


def expired(names: list[str], policy: Retention) -> list[str]:
    """Which of our dump ``names`` the policy lets go (never the newest; foreign names never)."""
    dated = sorted(((t, n) for n in names if (t := parse_dump_name(n)) is not None), reverse=True)
    if not dated:
        return []
    keep = {dated[0][1]}
    days: list = []
    weeks: list = []
    for t, n in dated:  # newest first: the first dump seen in a day/week is that period's keeper
        day, week = t.date(), t.isocalendar()[:2]
        if day not in days:
            days.append(day)
            if len(days) <= policy.daily:
                keep.add(n)
        if week not in weeks:
            weeks.append(week)
            if len(weeks) <= policy.weekly:
                keep.add(n)
    return sorted(n for _, n in dated if n not in keep)


def latest(names: list[str]) -> str | None:
    dated = sorted((t, n) for n in names if (t := parse_dump_name(n)) is not None)
    return dated[-1][1] if dated else None


def _run(argv: list[str], timeout: float, failed: str) -> None:
    try:
        proc = tools.run(argv, timeout=timeout, text=True)
    except tools.ToolError as exc:
        raise DumpError(f"{argv[0]}_{exc.reason.removeprefix('tool_')}", exc.detail) from None
    if proc.returncode != 0:
        raise DumpError(failed, proc.stderr.strip()[-2000:])


def pg_dump(database_url: str, dest: Path, timeout: float = TIMEOUT_S) -> str:
    """Dump the database (custom format, no owner/ACL) into ``dest``; return its SHA-256.
    Raises :class:`DumpError` (``pg_dump_failed``, ``pg_dump_timeout``, …)."""
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-acl",
            "--file",
            tools.input_path(dest),
            "--dbname",
            database_url,
        ],
        timeout,
        "pg_dump_failed",
    )
    return files.sha256_file(dest)[0]


def pg_restore(dump: Path, database_url: str, *, clean: bool = False, timeout: float = TIMEOUT_S) -> None:
    """Restore a custom-format dump into an empty database (``clean``: drop what is there first);
    all or nothing (one transaction, stop at the first error)."""
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            *(["--clean", "--if-exists"] if clean else []),
            "--dbname",
            database_url,
            tools.input_path(dump),
        ],
        timeout,
        "pg_restore_failed",
    )
