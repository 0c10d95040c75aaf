"""Helpers shared by the end-to-end tests (real Syncthing, real Docker engine)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg2
import psycopg2.extras

T = TypeVar("T")


def rows(database_url: str, sql: str, params: tuple = ()) -> list[dict]:
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()]
    finally:
        conn.close()


def wait_until(what: str, probe: Callable[[], T], *, limit_s: float, every_s: float = 1.0,
               on_timeout: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``limit_s``.

    The limit is a generous deadline against hangs, not a performance assertion.
    """
    deadline = time.monotonic() + limit_s
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise AssertionError(f"gave up waiting for {what} after {limit_s:.0f}s (last: {last!r})\n{extra}")
        time.sleep(every_s)
        last = probe()
    return last


def library_file(storage: Path, library_path: str) -> Path:
    """The file a ``media_assets.library_path`` names (relative to the storage or the library)."""
    for candidate in (storage / library_path, storage / "Library" / library_path, Path(library_path)):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"library file {library_path!r} not found under {storage}")
