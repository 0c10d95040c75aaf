"""Sample material for backup tests: an rclone config with a crypt remote over a local folder,
and media_assets rows (with their files under ``<storage>/Library/…``) made by a tiny factory."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from processor.backup.rclone import obscure

CRYPT_PASSWORD = "correct horse battery staple"
CRYPT_SALT = "pepper and salt"


@dataclass(frozen=True)
class Remote:
    config: Path  # the rclone config file (RCLONE_CONFIG)
    folder: Path  # the local folder the crypt remote stores its ciphertext in
    name: str = "secret:"  # the crypt remote: PF_BACKUP_REMOTE

    def env(self) -> dict[str, str]:
        return {"RCLONE_CONFIG": str(self.config), "PF_BACKUP_REMOTE": self.name}


def make_crypt_remote(tmp: Path, *, folder: Path | None = None) -> Remote:
    """An rclone config defining ``plain`` (local folder) and ``secret`` (crypt over it)."""
    folder = folder or tmp / "remote-store"
    folder.mkdir(parents=True, exist_ok=True)
    config = tmp / "rclone.conf"
    config.write_text(
        "[plain]\ntype = local\n\n"
        "[secret]\ntype = crypt\n"
        f"remote = plain:{folder}\n"
        "filename_encryption = standard\ndirectory_name_encryption = true\n"
        f"password = {obscured(CRYPT_PASSWORD)}\npassword2 = {obscured(CRYPT_SALT)}\n"
    )
    return Remote(config, folder)


def use_crypt_remote(tmp: Path, monkeypatch: pytest.MonkeyPatch, *, folder: Path | None = None) -> Remote:
    """:func:`make_crypt_remote`, made the remote of this test (``RCLONE_CONFIG`` points at it).
    The ``remote`` fixture (``tests/conftest.py``) is this in the test's ``tmp_path``."""
    remote = make_crypt_remote(tmp, folder=folder)
    monkeypatch.setenv("RCLONE_CONFIG", str(remote.config))
    return remote


@functools.lru_cache(maxsize=8)
def obscured(password: str) -> str:
    """``rclone obscure`` of a test password, once per process (any obscured form decrypts alike)."""
    return obscure("rclone", password)


def sample_bytes(n: int, size: int = 4096) -> bytes:
    """Distinct, recognisable content: a marker text then pseudo-random filler."""
    head = f"PHOTO-FACTORY-SAMPLE-{n:06d} ".encode()
    filler = hashlib.sha256(head).digest() * (size // 32 + 1)
    return (head + filler)[:size]


def add_asset(
    database_url: str,
    storage: Path,
    n: int,
    *,
    day: date = date(2024, 1, 31),
    size: int = 4096,
    name: str | None = None,
) -> dict:
    """Write a sample original under ``storage/Library/YYYY/YYYY-MM-DD/`` and insert its row."""
    data = sample_bytes(n, size)
    name = name or f"IMG_{n:04d}.JPG"
    rel = f"Library/{day:%Y}/{day:%Y-%m-%d}/{name}"
    path = storage / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,"
            " captured_local, capture_date, date_source, tz_source)"
            " VALUES (%s, %s, %s, %s, 'image', %s, %s, 'test', 'test') RETURNING id",
            (sha, rel, name, len(data), f"{day} 12:00:00", day),
        )
        asset_id = cur.fetchone()[0]
    conn.close()
    return {"id": asset_id, "library_path": rel, "sha256": sha, "path": path, "data": data}


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Read rows for assertions."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def remote_bytes(folder: Path) -> list[tuple[str, bytes]]:
    """Every file stored on the remote, as (relative path, content)."""
    return [(str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def sample_jpeg(n: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small real JPEG (the librarian ingests it) with content unique to ``n``."""
    import io

    from PIL import Image

    img = Image.new("RGB", size, ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    for x in range(0, size[0], 8):  # a pattern so the encoded bytes are not trivially repetitive
        img.putpixel((x, (x * n) % size[1]), (255 - x % 256, x % 256, n % 256))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, comment=f"PHOTO-FACTORY-SAMPLE-{n:06d}".encode())
    return buf.getvalue()


def add_panorama(database_url: str, storage: Path, n: int, *, day: date = date(2024, 1, 31)) -> dict:
    """A stitched panorama as the stitch stage leaves it: an image asset under Derivatives/panoramas/."""
    data = sample_bytes(10_000 + n, 8192)
    rel = f"Derivatives/panoramas/{day:%Y}/{day:%Y-%m-%d}/PANO_IMG_{n:04d}_{n}.jpg"
    path = storage / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,"
            " captured_local, capture_date, date_source, tz_source)"
            " VALUES (%s, %s, %s, %s, 'image', %s, %s, 'panorama', 'test') RETURNING id",
            (sha, rel, path.name, len(data), f"{day} 12:00:00", day),
        )
        asset_id = cur.fetchone()[0]
    conn.close()
    return {"id": asset_id, "library_path": rel, "sha256": sha, "path": path, "data": data}


def db_state(database_url: str) -> dict[str, list[str]]:
    """Every row of every public table, as text (to assert that a database was not changed)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
        state = {}
        for t in tables:
            cur.execute(f'SELECT t::text FROM "{t}" t')  # noqa: S608 - names from the catalogue
            state[t] = sorted(r[0] for r in cur.fetchall())
    conn.close()
    return state


def tree_state(root: Path) -> list[tuple[str, str]]:
    """Every entry under ``root`` with its content hash ('' for folders); [] if it does not exist."""
    if not root.exists():
        return []
    return [(str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
            for p in sorted(root.rglob("*"))]


def record_argv(tmp: Path, monkeypatch: pytest.MonkeyPatch, tools: tuple[str, ...]) -> Path:
    """Shims for ``tools``, first on PATH, that log each call's argv and exec the real tool.
    Returns the log; :func:`recorded_argv` reads it."""
    shims, log = tmp / "shims", tmp / "argv.log"
    shims.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, f"{tool} is not installed"
        shim = shims / tool
        shim.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" >> '{log}'\necho >> '{log}'\nexec '{real}' \"$@\"\n")
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    return log


def recorded_argv(log: Path) -> list[list[str]]:
    """Every recorded call, as its argv (``argv[0]`` the shim's path)."""
    return [line.rstrip("\0").split("\0") for line in log.read_text().splitlines() if line]


def rclone_whose_rcd(tmp: Path, name: str, rcd: str) -> Path:
    """An rclone executable (for ``PF_BACKUP_RCLONE_BINARY``) that runs the shell line ``rcd``
    for ``rclone rcd …`` (``$REAL`` is the real rclone, ``"$@"`` the arguments) and is the real
    rclone for every other command."""
    real = shutil.which("rclone")
    assert real, "rclone is not installed"
    tool = tmp / name
    tool.write_text(f'#!/bin/sh\nREAL="{real}"\nif [ "$1" = rcd ]; then {rcd}; fi\nexec "$REAL" "$@"\n')
    tool.chmod(0o755)
    return tool
