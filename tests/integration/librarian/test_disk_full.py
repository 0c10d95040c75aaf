"""Full disk: the storage is a tiny tmpfs, the inbox on the normal disk (a cross-device copy).

A photo bigger than the free space stays whole in the inbox — no partial or temporary file in the
library, no row, the error visible in the heartbeat — and is filed by the next run once space
is freed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import samples
from tests.support.db import tuples as _query

pytestmark = pytest.mark.integration

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")
MiB = 1024 * 1024


@pytest.fixture
def tiny_storage(storage: dict[str, Path]) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted on the storage folder, 3.8 MiB of it taken by a filler file."""
    root = storage["storage"]
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        (root / "filler").write_bytes(b"\0" * (3 * MiB + 800 * 1024))
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def _run_once(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(PHOTO_FACTORY), "librarian", "--once"], env=env, capture_output=True,
                          text=True, timeout=120)




def test_a_photo_bigger_than_the_free_space_stays_whole_in_the_inbox_until_space_is_freed(
    tiny_storage: Path, storage: dict[str, Path], pf_env: dict[str, str], database_url: str,
) -> None:
    photo = samples.photo(storage["inbox"] / "big.jpg", "2024:07:01 12:00:00", size=(1600, 1200), seed=7)
    size = photo.stat().st_size
    free = _free_bytes(tiny_storage)
    assert size > free, f"the sample ({size} bytes) must not fit in {free} free bytes"
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.05"}

    first = _run_once(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == digest, "the inbox file must stay whole"
    left = sorted(str(p.relative_to(tiny_storage)) for p in tiny_storage.rglob("*") if p.is_file())
    assert left == ["filler"], "no partial or temporary file in the storage"
    assert _query(database_url, "SELECT count(*) FROM media_assets")[0][0] == 0
    assert _query(database_url, "SELECT count(*) FROM quarantine")[0][0] == 0
    assert _query(database_url, "SELECT count(*) FROM ingest_journal")[0][0] == 0
    details = _query(database_url, "SELECT details FROM system_status WHERE service = 'librarian'")[0][0]
    details = details if isinstance(details, dict) else json.loads(details)
    assert details["errors"] >= 1
    assert "No space left on device" in details["last_error"]

    (tiny_storage / "filler").unlink()
    second = _run_once(env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert not photo.exists()
    rows = _query(database_url, "SELECT library_path, sha256 FROM media_assets")
    assert [(rel, sha.strip()) for rel, sha in rows] == [("Library/2024/2024-07-01/big.jpg", digest)]
    assert hashlib.sha256((tiny_storage / rows[0][0]).read_bytes()).hexdigest() == digest


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_full_disk_is_not_the_files_fault_so_it_is_never_quarantined_and_the_librarian_keeps_going(
    tiny_storage: Path, storage: dict[str, Path], pf_env: dict[str, str], database_url: str,
) -> None:
    photo = samples.photo(storage["inbox"] / "big.jpg", "2024:07:01 12:00:00", size=(1600, 1200), seed=7)
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.05", "PF_MAX_FILE_ATTEMPTS": "1"}

    result = _run_once(env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert photo.exists()
    assert _query(database_url, "SELECT count(*) FROM quarantine")[0][0] == 0
    left = sorted(str(p.relative_to(tiny_storage)) for p in tiny_storage.rglob("*") if p.is_file())
    assert left == ["filler"]
