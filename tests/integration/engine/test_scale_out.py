"""Scale-out: two thumbnail workers and two backup workers as separate processes on one database,
each seeing the same storage under a different path (a bind mount, like two machines mounting
one NFS export; a symlinked root where mounting is not allowed). Every claim is taken exactly once,
nothing is done twice, every output is present."""

from __future__ import annotations

import collections
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from processor.thumbnails.paths import thumbnail_rel
from tests.support import backup_samples as bs
from tests.support import thumbnail_samples as ts

pytestmark = pytest.mark.integration

ASSETS = 12


def _second_view(storage: Path, tmp_path: Path) -> Path:
    """The same storage under another path: a bind mount if we may mount, else a symlink."""
    other = tmp_path / "machine-b" / "storage"
    other.mkdir(parents=True)
    if subprocess.run(["mount", "--bind", str(storage), str(other)], capture_output=True).returncode == 0:
        return other
    other.rmdir()
    other.symlink_to(storage, target_is_directory=True)
    return other


def _unmount(path: Path) -> None:
    if not path.is_symlink():
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _start(command: str, database_url: str, storage: Path, log: Path, remote: bs.Remote) -> subprocess.Popen:
    env = {**os.environ, **remote.env(), "PF_DATABASE_URL": database_url, "PF_STORAGE_DIR": str(storage),
           "PF_INBOX_DIR": str(storage.parent / "inbox"), "PF_LOG_LEVEL": "INFO",
           "PF_THUMBNAIL_BATCH_SIZE": "2", "PF_BACKUP_BATCH_SIZE": "3", "PF_BACKUP_DUMPS": "false"}
    exe = Path(sys.executable).with_name("photo-factory")
    with open(log, "wb") as out:
        return subprocess.Popen([str(exe), command, "--once"], env=env, stdout=out, stderr=subprocess.STDOUT)


def test_two_machines_share_the_work_exactly_once(database_url, tmp_path):
    storage = tmp_path / "machine-a" / "storage"
    storage.mkdir(parents=True)
    other = _second_view(storage, tmp_path)
    remote = bs.make_crypt_remote(tmp_path)
    try:
        ids = []
        for i in range(ASSETS):
            data = ts.jpeg(640 + i, 480)
            ids.append(ts.insert_asset(database_url, storage, data=data))
            # the real SHA-256: the backup verifies the original against it
            ts.query(database_url, "UPDATE media_assets SET sha256 = %s WHERE id = %s",
                     (hashlib.sha256(data).hexdigest(), ids[-1]))
        logs = {f"{cmd}-{view}": tmp_path / f"{cmd}-{view}.log"
                for cmd in ("thumbnails", "backup") for view in ("a", "b")}
        procs = {name: _start(name.split("-")[0], database_url, storage if name.endswith("a") else other,
                              log, remote) for name, log in logs.items()}
        for name, p in procs.items():
            assert p.wait(180) == 0, f"{name}: {logs[name].read_text()[-2000:]}"
    finally:
        _unmount(other)

    # thumbnails: each asset rendered by exactly one worker, every size present
    rendered = collections.Counter()
    for view in ("a", "b"):
        for m in re.finditer(r"asset (\d+): thumbnails ", logs[f"thumbnails-{view}"].read_text()):
            rendered[int(m.group(1))] += 1
    assert rendered == collections.Counter({i: 1 for i in ids})
    for i in ids:
        [(rel,)] = ts.query(database_url, "SELECT library_path FROM media_assets WHERE id = %s", (i,))
        for size in (256, 1440):
            assert (storage / thumbnail_rel(rel, size)).is_file()
    # backup: every original uploaded once (one ciphertext each), every flag set, no job left
    assert ts.query(database_url, "SELECT count(*) FROM media_assets WHERE is_thumbnailed AND is_backed_up") \
        == [(ASSETS,)]
    assert ts.query(database_url, "SELECT count(*) FROM stage_jobs") == [(0,)]
    assert len(bs.remote_bytes(remote.folder)) == ASSETS
    assert ts.query(database_url, "SELECT coalesce(sum(files), 0) FROM backup_runs") == [(ASSETS,)]
    # both views really took part (each stage had a worker per path)
    workers = ts.query(database_url, "SELECT stage, count(*) FROM stage_workers GROUP BY stage ORDER BY stage")
    assert workers in ([], [("backup", 2), ("thumbnails", 2)])  # --once workers remove their row on exit
