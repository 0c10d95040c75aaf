"""The backup worker against real PostgreSQL and a real rclone crypt remote over a local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from photo_factory.settings import CoreSettings
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


def worker(database_url: str, storage: Path, remote: str, **cfg: object) -> BackupWorker:
    core = CoreSettings(database_url=database_url, storage_dir=storage)
    settings = BackupSettings(backup_remote=remote, **{"backup_retry_base_seconds": 60, **cfg})
    return BackupWorker(core, settings)


def drain(w: BackupWorker) -> None:
    w.drain()


def job(database_url: str) -> list[tuple]:
    return bs.query(
        database_url,
        "SELECT state, reason_code, attempts, not_before > now() FROM stage_jobs WHERE stage = 'backup'",
    )


def test_it_backs_up_every_pending_original_encrypted_and_verified(database_url, storage, remote):
    assets = [bs.add_asset(database_url, storage["storage"], n) for n in range(5)]
    drain(worker(database_url, storage["storage"], remote.name, backup_batch_size=2))
    rows = bs.query(database_url, "SELECT is_backed_up, backed_up_at IS NOT NULL FROM media_assets")
    assert rows == [(True, True)] * 5 and job(database_url) == []
    stored = bs.remote_bytes(remote.folder)
    assert len(stored) == 5 + 2  # five originals, one database dump and its manifest
    for rel, content in stored:
        for a in assets:
            assert a["data"][:26] not in content
            assert Path(a["library_path"]).name not in rel
        assert "Library" not in rel and "IMG_" not in rel and "photo_factory" not in rel
    runs = bs.query(database_url, "SELECT files, bytes, result, dump_name IS NOT NULL FROM backup_runs")
    assert runs == [(5, 5 * 4096, "ok", True)]


def test_an_unreachable_remote_leaves_the_flag_false_with_a_reason_and_a_backoff(
    database_url, storage, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote's folder should be")
    r = bs.make_crypt_remote(tmp_path, folder=tmp_path / "ok")
    r.config.write_text(r.config.read_text().replace(str(tmp_path / "ok"), str(blocker / "sub")))
    monkeypatch.setenv("RCLONE_CONFIG", str(r.config))
    bs.add_asset(database_url, storage["storage"], 1)
    drain(worker(database_url, storage["storage"], r.name))
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(False,)]
    [(state, reason, attempts, later)] = job(database_url)
    assert (state, attempts, later) == ("pending", 1, True)
    assert reason == "rclone_failed"
    [(result, run_reason)] = bs.query(database_url, "SELECT result, reason FROM backup_runs")
    assert result == "failed" and run_reason == reason


def test_a_missing_original_is_never_marked_backed_up(database_url, storage, remote):
    a = bs.add_asset(database_url, storage["storage"], 1)
    a["path"].unlink()
    drain(worker(database_url, storage["storage"], remote.name))
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(False,)]
    assert job(database_url)[0][:2] == ("pending", "original_missing")


@pytest.mark.parametrize("verify", ["check", "sha256"])
def test_a_changed_original_is_caught_by_the_hash_check(database_url, storage, remote, verify):
    a = bs.add_asset(database_url, storage["storage"], 1)
    a["path"].write_bytes(b"bit rot" + a["data"][7:])
    drain(worker(database_url, storage["storage"], remote.name, backup_verify=verify))
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(False,)]
    assert job(database_url)[0][:2] == ("pending", "hash_mismatch")


def test_once_the_remote_answers_again_the_backup_is_retried_and_verified(database_url, storage, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote's folder should be")
    r = bs.make_crypt_remote(tmp_path, folder=tmp_path / "ok")
    good = r.config.read_text()
    r.config.write_text(good.replace(str(tmp_path / "ok"), str(blocker / "sub")))
    monkeypatch.setenv("RCLONE_CONFIG", str(r.config))
    bs.add_asset(database_url, storage["storage"], 1)
    w = worker(database_url, storage["storage"], r.name, backup_retry_base_seconds=0.01)
    assert w.work_once() is True  # the batch fails: one attempt, back off
    assert w.backup.remote_error is not None
    status, message = w.beat_status(w.beat_details())
    assert status == "degraded" and message.startswith("remote unreachable")
    r.config.write_text(good)  # the remote is back
    while w.work_once() or bs.query(database_url, "SELECT NOT is_backed_up FROM media_assets")[0][0]:
        pass
    w.close()
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(True,)]
    assert w.backup.remote_error is None and job(database_url) == []


def test_sha256_mode_reads_every_file_back_and_hashes_it(database_url, storage, remote):
    bs.add_asset(database_url, storage["storage"], 1)
    drain(worker(database_url, storage["storage"], remote.name, backup_verify="sha256", backup_dumps=False))
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(True,)]


def test_a_different_file_already_on_the_remote_is_kept_in_the_attic_not_overwritten(database_url, storage, remote):
    import subprocess

    a = bs.add_asset(database_url, storage["storage"], 1)
    old = storage["storage"] / "old"
    (old / a["library_path"]).parent.mkdir(parents=True)
    (old / a["library_path"]).write_bytes(b"an older, different file at the same path")
    subprocess.run(["rclone", "copy", str(old), remote.name], check=True)
    drain(worker(database_url, storage["storage"], remote.name, backup_dumps=False))
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(True,)]
    listing = subprocess.run(
        ["rclone", "lsf", "-R", "--files-only", remote.name], capture_output=True, text=True, check=True
    ).stdout.split()
    [kept] = [p for p in listing if p.startswith("Attic/")]
    assert kept.endswith(a["library_path"])
    assert subprocess.run(["rclone", "cat", f"{remote.name}{kept}"], capture_output=True, check=True).stdout == (
        b"an older, different file at the same path"
    )
