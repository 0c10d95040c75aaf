"""The batch's rclone is started before its claim (``Backup.warm_up``): rclone's own start-up
(exec, Go's start, 0.1-0.2 s) runs beside the claim — or, after a whole batch, beside that
batch's upload — and the claimed list reaches it on stdin.
It reads no file before its list; a round that claims nothing kills it; a started rclone that
died is replaced; an owner that dies leaves it an empty list, so it uploads nothing and ends.
This is the upload path without the long-lived ``rclone rcd`` (``PF_BACKUP_RCLONE_DAEMON=false``, or a
daemon that could not start): tests/integration/backup/test_rclone_daemon.py covers the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs
from tests.support.procs import gone

pytestmark = pytest.mark.integration


def stored(remote: bs.Remote) -> list[Path]:
    """The files on the remote (ciphertext)."""
    return [p for p in remote.folder.rglob("*") if p.is_file()]


def copies(log: Path) -> list[list[str]]:
    return [c[1:] for c in bs.recorded_argv(log) if c[1:2] == ["copy"]]


def worker(database_url: str, storage: Path, remote: bs.Remote, **cfg: object) -> BackupWorker:
    return BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage),
                        BackupSettings(backup_remote=remote.name, backup_dumps=False,
                                       **{"backup_rclone_daemon": False, **cfg}))


def spy_claims(w: BackupWorker) -> list[rclone.Started | None]:
    """What rclone each claim found started ahead (``Backup.ahead`` when the claim ran)."""
    seen: list[rclone.Started | None] = []
    claim = w.store.claim_round

    def spied(*args, **kwargs):
        ahead = w.backup.ahead
        seen.append(ahead if ahead is not None and ahead.proc.poll() is None else None)
        return claim(*args, **kwargs)

    w.store.claim_round = spied  # type: ignore[method-assign]
    return seen


def test_the_batchs_rclone_is_running_before_its_claim_and_uploads_the_claimed_list(
    database_url, storage, remote, tmp_path, monkeypatch
):
    log = bs.record_argv(tmp_path, monkeypatch, ("rclone",))
    for n in range(5):
        bs.add_asset(database_url, storage["storage"], n)
    w = worker(database_url, storage["storage"], remote)
    seen = spy_claims(w)
    w.drain()

    first = seen[0]
    assert first is not None, "no rclone was running when the first claim ran"
    assert first.proc.returncode == 0  # it ran the batch to its end
    [call] = copies(log)  # that one process did the upload: none was started after the claim
    assert call[call.index("--files-from-raw") + 1] == "-"
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(5,)]
    assert len(stored(remote)) == 5
    # the round after a batch smaller than a whole one (it emptied the queue) starts nothing
    assert seen[1:] == [None]


def test_after_a_whole_batch_the_next_batchs_rclone_starts_while_it_uploads_and_none_is_wasted(
    database_url, storage, remote, tmp_path, monkeypatch
):
    log = bs.record_argv(tmp_path, monkeypatch, ("rclone",))
    for n in range(5):
        bs.add_asset(database_url, storage["storage"], n)
    w = worker(database_url, storage["storage"], remote, backup_batch_size=2)
    seen = spy_claims(w)
    upload = w.backup.upload_batch
    after_batch: list[bool] = []  # an rclone already waiting for the next batch as this one ends

    def spied(rows):
        try:
            return upload(rows)
        finally:
            after_batch.append(w.backup.ahead is not None and w.backup.ahead.proc.poll() is None)

    w.process_batch = spied
    w.drain()
    assert after_batch == [True, True, False]  # batches of 2, 2 and 1 (the last emptied the queue)
    assert [s is not None for s in seen] == [True, True, True, False]
    assert len(copies(log)) == 3  # one rclone a batch, none started for nothing
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(5,)]
    assert len(stored(remote)) == 5


def test_a_round_that_claims_nothing_kills_the_rclone_started_for_it_and_idle_rounds_start_none(
    database_url, storage, remote, tmp_path, monkeypatch
):
    log = bs.record_argv(tmp_path, monkeypatch, ("rclone",))
    w = worker(database_url, storage["storage"], remote)
    seen = spy_claims(w)
    try:
        assert not w.work_once()  # the first round expects work: started ahead, then nothing due
        assert not w.work_once()
        assert not w.work_once()
    finally:
        w.close()
    started = seen[0]
    assert started is not None and started.proc.poll() is not None  # killed, and reaped
    # the first round claims again after its recovery of dead workers' claims (it was due)
    assert seen[1:] == [started, None, None]
    assert len(copies(log)) == 1
    assert stored(remote) == []


def test_an_rclone_started_ahead_that_died_is_replaced_and_the_batch_still_goes(
    database_url, storage, remote, tmp_path, monkeypatch
):
    log = bs.record_argv(tmp_path, monkeypatch, ("rclone",))
    for n in range(3):
        bs.add_asset(database_url, storage["storage"], n)
    w = worker(database_url, storage["storage"], remote)
    claim = w.store.claim_round

    def kill_first(*args, **kwargs):  # it dies while the claim runs
        if w.backup.ahead is not None:
            deadline = time.monotonic() + 30  # once it runs (its shim has logged its command)
            while not copies(log) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.killpg(w.backup.ahead.proc.pid, signal.SIGKILL)
            w.backup.ahead.proc.wait(timeout=30)
        return claim(*args, **kwargs)

    w.store.claim_round = kill_first  # type: ignore[method-assign]
    w.drain()
    assert len(copies(log)) == 2  # the dead one, and the one that replaced it
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(3,)]
    assert len(stored(remote)) == 3


_OWNER = """
import sys, time
from processor.backup import rclone
started = rclone.Rclone().start_upload(sys.argv[1], "secret:")
print(started.proc.pid, flush=True)
time.sleep(600)
"""


def test_an_rclone_waiting_for_its_list_uploads_nothing_and_ends_when_its_owner_is_killed(
    storage, remote, tmp_path
):
    for n in range(3):
        path = storage["storage"] / "Library" / f"IMG_{n}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bs.sample_bytes(n))
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(storage["storage"])], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "RCLONE_CONFIG": str(remote.config)})
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        time.sleep(1.0)  # let it start and wait for its list
        owner.kill()  # kill -9: no clean-up ran, the list never came
        owner.wait(timeout=30)
        assert gone(pid), "the rclone started ahead outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
    assert stored(remote) == []
