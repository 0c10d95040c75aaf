from __future__ import annotations

from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from librarian.service import Librarian
from librarian.settings import LibrarianSettings
from photo_factory import loop, settings


@pytest.fixture
def ingest(pf_env):
    """Run one in-process ``librarian --once`` pass with the test's environment."""

    def run(**overrides) -> Librarian:
        core = settings.load(settings.CoreSettings)
        lib_settings = settings.load(LibrarianSettings, **overrides)
        lib = Librarian(core, lib_settings, once=True)
        lib.start()
        try:
            loop.run(lib.work_once, stopper=lib.stopper, heartbeat=None, idle_seconds=0.1, once=True)
        finally:
            lib.close()
        return lib

    return run


@pytest.fixture
def query(database_url):
    conn = psycopg2.connect(database_url)
    conn.autocommit = True

    def q(sql: str, *params) -> list[dict]:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    yield q
    conn.close()


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())
