"""Forward-only SQL migrations from ``db/migrations/NNNN_name.sql``.

Each file runs in its own transaction and is recorded in ``schema_migrations``. A
transaction-level advisory lock serialises concurrent runs (several containers starting at
once): the second waits, then finds nothing left to do. The files are plain SQL, so
``psql -1 -f`` applies them too.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from photo_factory import db

log = logging.getLogger(__name__)

#: Advisory lock key: the ASCII of "pfmigr" — any constant shared by all migrators works.
LOCK_KEY = 0x70666D69677200
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def migrations_dir() -> Path:
    env = os.environ.get("PF_MIGRATIONS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "db" / "migrations"


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found = []
    for path in sorted(directory.iterdir()):
        m = _FILE.match(path.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), path))
        elif path.suffix == ".sql":
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return found


def pending(url: str, directory: Path | None = None) -> list[Migration]:
    """The migrations not applied yet (all of them on an empty database)."""
    conn = db.connect(url, "migrate")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            done: set[int] = set()
            if cur.fetchone()[0]:
                cur.execute("SELECT version FROM schema_migrations")
                done = {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
    return [m for m in discover(directory) if m.version not in done]


def apply(url: str, directory: Path | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied by this call."""
    pending_all = discover(directory)
    applied: list[Migration] = []
    conn = db.connect(url, "migrate")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.commit()
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            conn.commit()
            for mig in pending_all:
                if mig.version in done:
                    continue
                log.info("applying migration %04d_%s", mig.version, mig.name)
                cur.execute(mig.path.read_text())
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (mig.version, mig.name),
                )
                conn.commit()
                applied.append(mig)
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return applied
