"""Database dumps: ``pg_dump`` in custom format, their names on the remote, and retention.

Dumps are named ``photo_factory-YYYYMMDDTHHMMSSZ.dump`` (UTC) so that the newest sorts last and
the retention policy can be computed from names alone. Retention keeps the newest dump of each
of the last ``daily`` days and of each of the last ``weekly`` ISO weeks (plus always the newest
dump, and the newest *good* one); everything else that *we* uploaded is expired. Files on the
remote that do not follow our naming are never touched.

Next to each dump a small manifest, ``<dump>.json``, records its time, size, SHA-256, asset count
and schema version (read from the dump file itself). A dump whose catalogue is empty, or much
smaller than the newest good dump's (:data:`SHRINK_RATIO`), is still uploaded but flagged
``shrunk_from``: it is never a restore's default choice (:func:`default_choice`), so an empty
database started after a disk loss cannot make its empty dump the one a restore picks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg2.extensions import make_dsn, parse_dsn

from photo_factory import files, tools

if TYPE_CHECKING:
    from processor.backup.rclone import Rclone

log = logging.getLogger(__name__)

PREFIX = "photo_factory-"
SUFFIX = ".dump"
_NAME = re.compile(r"^photo_factory-(\d{8}T\d{6})Z\.dump$")
#: Folder of the dumps on the backup remote.
REMOTE_DIR = "db"
MANIFEST_SUFFIX = ".json"
#: pg_dump / pg_restore / psql are killed after this long (a catalogue dumps in seconds to minutes).
TIMEOUT_S = 3600.0
#: A dump holding fewer assets than this share of the newest good dump's is flagged ``shrunk``.
SHRINK_RATIO = 0.5


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


def expired(names: list[str], policy: Retention, protect: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Which of our dump ``names`` the policy lets go (never the newest, never one in ``protect``
    (the newest good dump), foreign names never)."""
    dated = sorted(((t, n) for n in names if (t := parse_dump_name(n)) is not None), reverse=True)
    if not dated:
        return []
    keep = {dated[0][1], *protect}
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


def _run(argv: list[str], timeout: float, failed: str, env: dict[str, str] | None = None) -> None:
    try:
        proc = tools.run(argv, timeout=timeout, text=True, env=env)
    except tools.ToolError as exc:
        raise DumpError(f"{argv[0]}_{exc.reason.removeprefix('tool_')}", exc.detail) from None
    if proc.returncode != 0:
        raise DumpError(failed, proc.stderr.strip()[-2000:])


def libpq_args(database_url: str) -> tuple[str, dict[str, str]]:
    """``(conninfo without the password, environment with PGPASSWORD)`` for a libpq tool: a
    password on a command line is readable by every user of the machine (``ps``)."""
    params = parse_dsn(database_url)
    password = params.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    return make_dsn(**params), env


def pg_dump(database_url: str, dest: Path, timeout: float = TIMEOUT_S) -> str:
    """Dump the database (custom format, no owner/ACL) into ``dest``; return its SHA-256.
    Raises :class:`DumpError` (``pg_dump_failed``, ``pg_dump_timeout``, …)."""
    conninfo, env = libpq_args(database_url)
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-acl",
            "--file",
            tools.input_path(dest),
            "--dbname",
            conninfo,
        ],
        timeout,
        "pg_dump_failed",
        env,
    )
    return files.sha256_file(dest)[0]


def to_sql(dump: Path, dest: Path, timeout: float = TIMEOUT_S) -> None:
    """Turn a custom-format dump into the plain SQL :func:`load` runs (no owner, no ACL)."""
    proc = _tool(["pg_restore", "--no-owner", "--no-acl", "--file", tools.input_path(dest),
                  tools.input_path(dump)], timeout)
    if proc.returncode != 0:
        raise DumpError("dump_unreadable", _last_line(proc.stderr) or "pg_restore failed")


def _tool(argv: list[str], timeout: float, env: dict[str, str] | None = None):
    try:
        return tools.run(argv, timeout=timeout, text=True, env=env)
    except tools.ToolError as exc:
        raise DumpError(f"{argv[0]}_{exc.reason.removeprefix('tool_')}", exc.detail) from None


#: Run first, in the same transaction: the schema is replaced as a whole (a fresh ``migrate``'s
#: newer tables included), and a session holding a lock makes the restore fail, not hang.
_REPLACE_SCHEMA = "SET lock_timeout = '60s';\nDROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"


def load(sql: Path, database_url: str, timeout: float = TIMEOUT_S) -> None:
    """Replace the database's public schema with ``sql`` (from :func:`to_sql`) in ONE transaction:
    on any error nothing at all is changed."""
    pre = sql.with_name("replace-schema.sql")
    pre.write_text(_REPLACE_SCHEMA)
    conninfo, env = libpq_args(database_url)
    proc = _tool(
        ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1",
         "--dbname", conninfo, "--file", tools.input_path(pre), "--file", tools.input_path(sql)],
        timeout,
        env={**env, "PGOPTIONS": "--client-min-messages=warning"},
    )
    if proc.returncode != 0:
        errors = [ln.split("ERROR:", 1)[1].strip() for ln in proc.stderr.splitlines() if "ERROR:" in ln]
        detail = (errors[-1] if errors else _last_line(proc.stderr)) or f"psql exited {proc.returncode}"
        if "lock timeout" in detail:
            detail += " (a session holds the database's tables: stop the services, or try again)"
        raise DumpError("database_load_failed", detail)


# -- manifests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """What a dump holds, uploaded next to it as ``<name>.json``."""

    name: str
    created_at: str  # ISO 8601, UTC
    size_bytes: int
    sha256: str
    assets: int
    schema_version: int | None
    #: the asset count of the newest good dump when this one holds much less (or none); else None
    shrunk_from: int | None = None

    @property
    def good(self) -> bool:
        """A dump a restore may pick by default: it holds assets and did not shrink."""
        return self.assets > 0 and self.shrunk_from is None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        return cls(
            name=str(d["name"]),
            created_at=str(d["created_at"]),
            size_bytes=int(d["size_bytes"]),
            sha256=str(d["sha256"]),
            assets=int(d["assets"]),
            schema_version=None if d.get("schema_version") is None else int(d["schema_version"]),
            shrunk_from=None if d.get("shrunk_from") is None else int(d["shrunk_from"]),
        )


def manifest_name(dump: str) -> str:
    return dump + MANIFEST_SUFFIX


def contents(dump: Path, timeout: float = TIMEOUT_S) -> tuple[int, int | None]:
    """(asset rows, newest migration) of a custom-format dump, read from the file itself.

    Also proves the file is a readable dump (``pg_restore`` parses its table of contents).
    """
    listed = _tool(["pg_restore", "--list", tools.input_path(dump)], timeout)
    if listed.returncode != 0:
        raise DumpError("dump_unreadable", _last_line(listed.stderr) or "pg_restore --list failed")
    data = dump.with_name(dump.name + ".rows")
    try:
        proc = _tool(["pg_restore", "--data-only", "--table", "media_assets", "--table", "schema_migrations",
                      "--file", tools.input_path(data), tools.input_path(dump)], timeout)
        if proc.returncode != 0:
            raise DumpError("dump_unreadable", _last_line(proc.stderr) or "pg_restore failed")
        assets, versions, table = 0, [], ""
        with open(data, encoding="utf-8", errors="replace") as rows:
            for line in rows:
                if line.startswith("COPY "):
                    table = line.split()[1].rsplit(".", 1)[-1].strip('"')
                elif line.startswith("\\."):
                    table = ""
                elif table == "media_assets":
                    assets += 1
                elif table == "schema_migrations":
                    head = line.split("\t", 1)[0]
                    if head.isdigit():
                        versions.append(int(head))
    finally:
        data.unlink(missing_ok=True)
    return assets, max(versions) if versions else None


def describe(dump: Path, name: str, created_at: datetime, sha256: str, known: list[Manifest]) -> Manifest:
    """The manifest of a fresh dump; ``known``: the manifests already on the remote."""
    assets, schema = contents(dump)
    baseline = newest_good(known)
    shrunk = baseline is not None and assets < SHRINK_RATIO * baseline.assets
    return Manifest(
        name=name,
        created_at=created_at.astimezone(UTC).isoformat(timespec="seconds"),
        size_bytes=dump.stat().st_size,
        sha256=sha256,
        assets=assets,
        schema_version=schema,
        shrunk_from=baseline.assets if shrunk and baseline else None,
    )


def newest_good(manifests: list[Manifest]) -> Manifest | None:
    good = [m for m in manifests if m.good and parse_dump_name(m.name)]
    return max(good, key=lambda m: m.name) if good else None


def read_manifests(tool: Rclone, remote_dir: str) -> dict[str, Manifest]:
    """Every dump manifest in ``remote_dir`` by dump name (one rclone call; unreadable ones skipped)."""
    out: dict[str, Manifest] = {}
    with tempfile.TemporaryDirectory(prefix="pf-manifests-") as tmp:
        proc = tool.run("copy", remote_dir, tmp, "--include", "*" + SUFFIX + MANIFEST_SUFFIX, check=False)
        if proc.returncode not in (0, 3):  # 3: no db/ folder yet
            from processor.backup.rclone import RcloneError

            raise RcloneError("manifests_unreadable", _last_line(proc.stderr))
        for path in Path(tmp).glob("*" + MANIFEST_SUFFIX):
            try:
                m = Manifest.from_json(path.read_text())
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("dump manifest %s is unreadable (%s); ignored", path.name, exc)
                continue
            out[m.name] = m
    return out


def upload(tool: Rclone, remote_dir: str, dump: Path, manifest: Manifest) -> None:
    """The dump, then its manifest (a dump without manifest is never mistaken for a good one)."""
    from processor.backup.rclone import join

    tool.copyto(str(dump), join(remote_dir, manifest.name))
    side = dump.with_name(manifest_name(manifest.name))
    side.write_text(manifest.to_json())
    tool.copyto(str(side), join(remote_dir, manifest_name(manifest.name)))


def grown_back(m: Manifest, assets_now: int) -> bool:
    """Has the catalogue of a shrunk dump grown back (restored) so that a new dump would be good?"""
    return m.shrunk_from is not None and assets_now > 0 and assets_now >= SHRINK_RATIO * m.shrunk_from


def shrink_warning(m: Manifest) -> str | None:
    """The loud message for a dump that holds no or far fewer assets than the newest good one."""
    if m.shrunk_from is None:
        return None
    return (f"database dump {m.name} holds {m.assets} assets, the newest good dump {m.shrunk_from}: "
            "kept, but a restore will not pick it by default (after a disk loss: run photo-factory restore)")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
