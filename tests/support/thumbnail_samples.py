"""Sample files for the thumbnail tests (generated, small, real) and a media_assets row factory."""

from __future__ import annotations

import hashlib
import io
import itertools
import subprocess
from datetime import datetime
from pathlib import Path

import psycopg2
import psycopg2.extras

_seq = itertools.count(1)


def insert_asset(database_url: str, storage: Path, rel: str | None = None, *, data: bytes | None = None,
                 media_type: str = "image", **columns: object) -> int:
    """Insert a media_assets row for ``storage/<rel>`` (written from ``data`` if given); return its id.

    ``rel`` defaults to a unique ``Library/2024/2024-05-01/IMG_<n>.JPG``. Extra ``columns`` override
    the row (e.g. ``orientation=6``, ``location=...``).
    """
    n = next(_seq)
    rel = rel or f"Library/2024/2024-05-01/IMG_{n:05d}.JPG"
    path = storage / rel
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    content = path.read_bytes() if path.exists() else f"{rel}:{n}".encode()
    row = {
        "sha256": hashlib.sha256(content + f":{n}".encode()).hexdigest(),
        "library_path": rel, "original_name": Path(rel).name, "size_bytes": max(len(content), 1),
        "media_type": media_type, "captured_local": datetime(2024, 5, 1, 12, 0),
        "capture_date": datetime(2024, 5, 1).date(), "date_source": "test", "tz_source": "test",
        **columns,
    }
    if "location" in row and row["location"] is not None:
        row["location"] = psycopg2.extras.Json(row["location"])
    cols = ", ".join(row)
    vals = ", ".join(f"%({k})s" for k in row)
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO media_assets ({cols}) VALUES ({vals}) RETURNING id", row)
            return cur.fetchone()[0]
    finally:
        conn.close()


def query(database_url: str, sql: str, params: object = None) -> list[tuple]:
    """Run one statement in its own transaction and return its rows (tests only)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()
