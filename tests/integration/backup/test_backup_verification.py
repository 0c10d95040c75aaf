"""How ``check`` verification proves a file is on the remote, and where it cannot take the short way.

A fresh upload is proved from the upload itself (the original's SHA-256 read beside it, rclone's
post-transfer hash check of the stored object): no second read of the original or the remote.
A file rclone did not transfer in this call (already there) gets the full proof, and a remote copy
that no longer matches is never marked backed up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


def drain(database_url: str, storage: Path, **cfg: object) -> None:
    BackupWorker(
        CoreSettings(database_url=database_url, storage_dir=storage),
        BackupSettings(backup_remote="secret:", backup_dumps=False, **cfg),
    ).drain()


def test_a_fresh_upload_is_verified_from_the_upload_itself_without_a_second_read(
    database_url, storage, remote, monkeypatch
):
    assets = [bs.add_asset(database_url, storage["storage"], n) for n in range(40)]

    def no_second_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("a fresh upload was read a second time to verify it")

    with monkeypatch.context() as patched:
        patched.setattr(rclone.Rclone, "compare", no_second_read)
        patched.setattr(rclone.Rclone, "sha256sums", no_second_read)
        drain(database_url, storage["storage"])
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(40,)]
    sums = rclone.Rclone().sha256sums("secret:", [a["library_path"] for a in assets])
    assert sums == {a["library_path"]: a["sha256"] for a in assets}


def test_a_file_already_on_the_remote_gets_the_full_proof_and_a_damaged_copy_is_not_trusted(
    database_url, storage, remote
):
    good = bs.add_asset(database_url, storage["storage"], 1)
    bad = bs.add_asset(database_url, storage["storage"], 2)
    drain(database_url, storage["storage"])
    # a crash after the upload, before the flags: the files are on the remote, not yet marked
    bs.query(database_url, "UPDATE media_assets SET is_backed_up = false")
    stored = sorted((p for p in remote.folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    assert len(stored) == 2
    damaged = next(p for p in stored if rclone_name(remote, p) == bad["library_path"])
    st = damaged.stat()
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, same mtime: rclone copy sees it "unchanged"
    damaged.write_bytes(bytes(data))
    os.utime(damaged, ns=(st.st_atime_ns, st.st_mtime_ns))

    drain(database_url, storage["storage"])

    rows = dict(bs.query(database_url, "SELECT library_path, is_backed_up FROM media_assets"))
    assert rows == {good["library_path"]: True, bad["library_path"]: False}
    [(reason,)] = bs.query(database_url, "SELECT reason_code FROM stage_jobs WHERE stage = 'backup'")
    assert reason in {"hash_mismatch", "remote_unreadable"}


def rclone_name(remote: bs.Remote, stored: Path) -> str:
    """The plaintext path of a ciphertext file on the crypt remote."""
    rel = stored.relative_to(remote.folder).as_posix()
    out = rclone.Rclone().run("cryptdecode", remote.name, rel).stdout
    return out.split("\t")[-1].strip()


@pytest.mark.parametrize("daemon", [True, False], ids=["rclone-rcd", "rclone-copy"])
def test_a_file_is_marked_backed_up_as_soon_as_its_proof_is_complete_not_when_the_batch_ends(
    database_url, storage, remote, daemon
):
    import threading

    assets = [bs.add_asset(database_url, storage["storage"], n, size=64 * 1024) for n in range(40)]
    worker = threading.Thread(target=drain, args=(database_url, storage["storage"]),
                              kwargs={"backup_rclone_flags": "--bwlimit 256K", "backup_rclone_daemon": daemon})
    worker.start()
    try:
        seen_during_upload = 0
        for _ in range(1200):  # up to ~2 min; the upload itself takes ~10 s
            flagged = bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up")[0][0]
            on_remote = sum(1 for p in remote.folder.rglob("*") if p.is_file())
            if flagged and on_remote < len(assets):  # the batch's upload has not reached every file
                seen_during_upload = flagged
                break
            if not worker.is_alive():
                break
            threading.Event().wait(0.1)
        assert 0 < seen_during_upload < len(assets), "no file was marked while the batch still uploaded"
    finally:
        worker.join(300)
    assert not worker.is_alive()
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(40,)]
    assert bs.query(database_url, "SELECT count(*) FROM stage_jobs") == [(0,)]
    sums = rclone.Rclone().sha256sums("secret:", [a["library_path"] for a in assets])
    assert sums == {a["library_path"]: a["sha256"] for a in assets}
