"""Restore from a real rclone crypt remote into a fresh folder and database, verified by SHA-256."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.drill import run_drill
from processor.backup.restore import Refused, Target, restore
from processor.backup.selection import Selection
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from processor.backup.store import create_scratch_database, drop_scratch_database
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bs.Remote:
    r = bs.make_crypt_remote(tmp_path)
    monkeypatch.setenv("RCLONE_CONFIG", str(r.config))
    return r


@pytest.fixture
def empty_db(pg_server_url: str):
    name = f"pf_r_{uuid.uuid4().hex[:12]}"
    url = create_scratch_database(pg_server_url, name)
    yield url
    drop_scratch_database(pg_server_url, name)


def back_up(database_url: str, storage: Path, remote: bs.Remote) -> None:
    BackupWorker(
        CoreSettings(database_url=database_url, storage_dir=storage),
        BackupSettings(backup_remote=remote.name),
    ).drain()


def test_a_lost_library_comes_back_byte_for_byte(database_url, storage, remote, empty_db, tmp_path):
    days = [date(2023, 12, 24), date(2024, 1, 31)]
    assets = [bs.add_asset(database_url, storage["storage"], n, day=days[n % 2]) for n in range(6)]
    back_up(database_url, storage["storage"], remote)
    fresh = tmp_path / "fresh"
    summary = restore(rclone.Rclone(), remote.name, Target(fresh, empty_db), Selection())
    assert summary.ok and summary.verified == 6 and summary.registered == []
    for a in assets:
        assert (fresh / a["library_path"]).read_bytes() == a["data"]
    cols = "library_path, sha256, size_bytes, capture_date, is_backed_up"
    sql = f"SELECT {cols} FROM media_assets ORDER BY library_path"
    assert bs.query(empty_db, sql) == bs.query(database_url, sql)


def test_originals_backed_up_after_the_dump_are_registered_again(database_url, storage, remote, empty_db, tmp_path):
    bs.add_asset(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    late = bs.add_asset(database_url, storage["storage"], 2, day=date(2024, 2, 2), name="LATE.MP4")
    stamp = datetime(2024, 2, 2, 12, 0).timestamp()
    os.utime(late["path"], (stamp, stamp))  # no metadata inside: the reader falls back to the mtime
    BackupWorker(
        CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
        BackupSettings(backup_remote=remote.name, backup_dumps=False),
    ).drain()
    summary = restore(rclone.Rclone(), remote.name, Target(tmp_path / "fresh", empty_db), Selection())
    assert summary.ok and summary.registered == [late["library_path"]] and summary.verified == 2
    rows = bs.query(
        empty_db,
        "SELECT sha256, media_type, capture_date, is_backed_up FROM media_assets WHERE library_path = %s",
        (late["library_path"],),
    )
    assert rows == [(late["sha256"], "video", date(2024, 2, 2), True)]


def test_it_refuses_to_restore_over_a_library_that_is_not_empty(database_url, storage, remote, empty_db):
    bs.add_asset(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    with pytest.raises(Refused):
        restore(rclone.Rclone(), remote.name, Target(storage["storage"], empty_db), Selection())


def test_one_lost_day_is_restored_into_the_live_library(database_url, storage, remote):
    a = bs.add_asset(database_url, storage["storage"], 1, day=date(2024, 5, 1))
    b = bs.add_asset(database_url, storage["storage"], 2, day=date(2024, 5, 2))
    back_up(database_url, storage["storage"], remote)
    a["path"].unlink()
    b["path"].unlink()
    target = Target(storage["storage"], database_url, restore_database=False)
    summary = restore(rclone.Rclone(), remote.name, target, Selection(since=date(2024, 5, 1), until=date(2024, 5, 1)))
    assert summary.ok and summary.verified == 1
    assert a["path"].read_bytes() == a["data"] and not b["path"].exists()


def test_a_corrupted_copy_on_the_remote_fails_the_verification(database_url, storage, remote, empty_db, tmp_path):
    a = bs.add_asset(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    [enc] = [p for p in remote.folder.rglob("*") if len(p.relative_to(remote.folder).parts) == 4]
    data = bytearray(enc.read_bytes())
    data[-100] ^= 0xFF
    enc.write_bytes(bytes(data))
    # crypt's authentication refuses the tampered file: it is reported, never half-restored
    summary = restore(rclone.Rclone(), remote.name, Target(tmp_path / "fresh", empty_db), Selection())
    assert not summary.ok and summary.missing == [a["library_path"]] and summary.copy_error


def test_the_drill_passes_and_is_recorded(database_url, storage, remote):
    for n in range(3):
        bs.add_asset(database_url, storage["storage"], n)
    back_up(database_url, storage["storage"], remote)
    lines: list[str] = []
    assert run_drill(rclone.Rclone(), remote.name, database_url, Selection(), None, lines.append) == 0
    assert bs.query(database_url, "SELECT result, files_checked, mismatches, missing FROM restore_drills") == [
        ("passed", 3, 0, 0)
    ]
    assert any("PASSED" in line for line in lines)


def test_the_restore_script_lists_the_dumps_on_the_remote(database_url, storage, remote, pf_env):
    import subprocess
    import sys

    bs.add_asset(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    script = Path(__file__).resolve().parents[3] / "scripts" / "restore.sh"
    env = {**pf_env, **remote.env(), "PHOTO_FACTORY": str(Path(sys.executable).with_name("photo-factory"))}
    proc = subprocess.run([str(script), "--list-dumps"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [name] = proc.stdout.split()
    assert name.startswith("photo_factory-") and name.endswith("Z.dump")
