"""A file the backup remote refuses fails alone, with a typed reason; every other file is backed up.

Issue 10 #13: one file that did not fit the remote failed its whole batch (91 small files ended
``failed`` after 8 attempts) while the heartbeat said ok. Real rclone, a real crypt remote over a
local folder, on a small tmpfs where the remote must be too small: a file bigger than the whole
remote (``too_large``, never retried), a file bigger than the space left (``remote_full``,
retried), a file over the user's ``--max-size`` (``too_large``), a name the remote cannot store
(``name_too_long``). Each time the others are verified on the remote and the heartbeat is degraded.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs
from tests.support import invariants

SMALL = 30


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: the remote's whole disk."""
    root = tmp_path / "remote-disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def worker(database_url: str, storage: Path, **cfg: object) -> BackupWorker:
    settings = BackupSettings(backup_remote="secret:", backup_dumps=False, **cfg)
    return BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage), settings)


def back_up_all(w: BackupWorker) -> tuple[str, str]:
    """Everything due, then the heartbeat the worker would send now."""
    try:
        while w.work_once():
            pass
        return w.beat_status(w.beat_details())
    finally:
        w.close()


def jobs(database_url: str) -> dict[str, tuple]:
    rows = bs.query(
        database_url,
        "SELECT a.library_path, j.state, j.reason_code, j.attempts FROM stage_jobs j"
        " JOIN media_assets a ON a.id = j.asset_id WHERE j.stage = 'backup'",
    )
    return {r[0]: r[1:] for r in rows}


def assert_backed_up_and_verified(database_url: str, assets: list[dict]) -> None:
    backed = {r[0] for r in bs.query(database_url, "SELECT library_path FROM media_assets WHERE is_backed_up")}
    assert backed == {a["library_path"] for a in assets}
    sums = rclone.Rclone().sha256sums("secret:", sorted(backed))  # downloaded and decrypted
    assert sums == {a["library_path"]: a["sha256"] for a in assets}


def small_files(database_url: str, storage: Path) -> list[dict]:
    return [bs.add_asset(database_url, storage, n, size=2048) for n in range(SMALL)]


def test_a_file_bigger_than_the_whole_remote_fails_alone_as_too_large(
    database_url, storage, tiny_disk, tmp_path, monkeypatch
):
    bs.use_crypt_remote(tmp_path, monkeypatch, folder=tiny_disk / "store")
    st = storage["storage"]
    small = small_files(database_url, st)
    big = bs.add_asset(database_url, st, 999, size=2 * 1024 * 1024)

    status, message = back_up_all(worker(database_url, st))

    assert_backed_up_and_verified(database_url, small)
    assert jobs(database_url) == {big["library_path"]: ("failed", "too_large", 1)}
    assert status == "degraded" and "too_large" in message
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in [*small, big]})


def test_a_file_bigger_than_the_space_left_waits_as_remote_full_and_the_rest_is_backed_up(
    database_url, storage, tiny_disk, tmp_path, monkeypatch
):
    bs.use_crypt_remote(tmp_path, monkeypatch, folder=tiny_disk / "store")
    (tiny_disk / "someone-elses-data").write_bytes(b"\0" * 700 * 1024)
    st = storage["storage"]
    small = small_files(database_url, st)
    big = bs.add_asset(database_url, st, 999, size=512 * 1024)  # fits the disk, not what is left

    status, message = back_up_all(worker(database_url, st))

    assert_backed_up_and_verified(database_url, small)
    assert jobs(database_url) == {big["library_path"]: ("pending", "remote_full", 1)}  # retried later
    assert status == "degraded" and "remote_full" in message
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in [*small, big]})


def test_a_file_over_the_users_max_size_fails_alone_as_too_large(database_url, storage, remote):
    st = storage["storage"]
    small = small_files(database_url, st)
    big = bs.add_asset(database_url, st, 999, size=300 * 1024)

    status, message = back_up_all(worker(database_url, st, backup_rclone_flags="--max-size 100k"))

    assert_backed_up_and_verified(database_url, small)
    assert jobs(database_url) == {big["library_path"]: ("failed", "too_large", 1)}
    assert status == "degraded" and "too_large" in message
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in [*small, big]})


def test_a_name_the_remote_cannot_store_fails_alone(database_url, storage, remote):
    """Crypt names are longer than the original (base32 of the encrypted name): 200 bytes locally
    become more than the remote's file system allows for one name."""
    st = storage["storage"]
    small = small_files(database_url, st)
    long = bs.add_asset(database_url, st, 999, name="L" * 196 + ".JPG")

    status, message = back_up_all(worker(database_url, st))

    assert_backed_up_and_verified(database_url, small)
    assert jobs(database_url) == {long["library_path"]: ("failed", "name_too_long", 1)}
    assert status == "degraded" and "name_too_long" in message
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in [*small, long]})
