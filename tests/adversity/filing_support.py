"""Helpers for the filing adversity tests: a second filesystem (tmpfs), real small JPEGs, and the
real ``photo-factory librarian --once`` run as a process (optionally with a fault hook)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.extras
import pytest
from PIL import Image

from tests.support import faults

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")


def jpeg_bytes(seed: int, size: tuple[int, int] = (32, 24)) -> bytes:
    """A small real JPEG, different for every seed (no EXIF: dated by its mtime)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=90)
    return out.getvalue()


def write(path: Path | bytes, data: bytes) -> bytes:
    """Write ``data`` at ``path`` (bytes paths: any name the kernel takes); returns ``data``."""
    p = os.fsencode(path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return data


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "64m") -> Iterator[Path]:
    """A fresh tmpfs mounted at ``where`` (another device than the test's storage); skips the
    test with the reason when mounting is not possible (not root, no CAP_SYS_ADMIN)."""
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a second filesystem: {res.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["chattr", "-R", "-i", str(where)], capture_output=True)
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def run_librarian(env: dict[str, str], log: Path, *, hook: str | None = None,
                  user: int | None = None, timeout: float = 180) -> int:
    """Run ``librarian --once`` to its end; returns its exit code (the log gets its output).
    ``hook``: a ``PF_TEST_HOOK`` (tests/support/faults.py)."""
    cmd = [str(PHOTO_FACTORY), "librarian", "--once"]
    env = {**env, "PF_STABILITY_SECONDS": env.get("PF_STABILITY_SECONDS", "0.05")}
    if hook is not None:
        cmd = [sys.executable, "-c", faults.PATCHED_CLI, "librarian", "--once"]
        env["PF_TEST_HOOK"] = hook
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    with open(log, "ab") as out:
        out.write(f"\n---- {' '.join(cmd[:3])} ----\n".encode())
        # another user runs from "/": the test's folder is private to root (PyExifTool stats its
        # executable's name relative to the working folder and fails on one it may not enter)
        return subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                              cwd="/" if user is not None else log.parent).returncode


def query(database_url: str, sql: str, *params: object) -> list[dict]:
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def unique_dir(parent: Path) -> Path:
    d = parent / uuid.uuid4().hex[:8]
    d.mkdir(parents=True)
    return d
