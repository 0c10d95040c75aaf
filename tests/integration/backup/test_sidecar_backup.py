"""Sidecars are backed up with their photos and restored byte-identical; the drill counts them."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.drill import run_drill
from processor.backup.restore import Target, restore
from processor.backup.selection import Selection
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


def add_sidecar(database_url: str, storage: Path, asset: dict, suffix: str, data: bytes) -> dict:
    rel = asset["library_path"] + suffix
    (storage / rel).write_bytes(data)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes, sha256)"
                    " VALUES (%s, %s, 'xmp', %s, %s, %s)",
                    (asset["id"], rel, rel.rsplit("/", 1)[-1], len(data), hashlib.sha256(data).hexdigest()))
    conn.close()
    return {"library_path": rel, "data": data}


def drain(database_url: str, storage: Path, remote: bs.Remote) -> None:
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage),
                 BackupSettings(backup_remote=remote.name)).drain()


def test_sidecars_are_backed_up_and_restored_byte_identical(database_url, storage, remote, empty_db, tmp_path):
    store = storage["storage"]
    photos = [bs.add_asset(database_url, store, n, day=date(2024, 1, 30 + n)) for n in range(2)]
    side = [add_sidecar(database_url, store, photos[0], ".xmp", b"<x:xmpmeta>one</x:xmpmeta>")]
    drain(database_url, store, remote)
    # attached after its photo was backed up: the next pass takes it
    side.append(add_sidecar(database_url, store, photos[1], ".json", b'{"title": "IMG_0001.JPG"}'))
    drain(database_url, store, remote)
    assert bs.query(database_url, "SELECT bool_and(is_backed_up) FROM asset_sidecars") == [(True,)]
    fresh = tmp_path / "fresh"
    summary = restore(rclone.Rclone(), remote.name, Target(fresh, empty_db), Selection())
    assert summary.ok and summary.sidecars_verified == 2 and summary.verified == 4
    assert summary.registered == []  # a sidecar is never registered as a photo
    for s in side:
        assert (fresh / s["library_path"]).read_bytes() == s["data"]
    assert bs.query(empty_db, "SELECT count(*) FROM media_assets") == [(2,)]
    lines: list[str] = []
    assert run_drill(rclone.Rclone(), remote.name, database_url, Selection(), None, lines.append) == 0
    assert bs.query(database_url, "SELECT files_checked FROM restore_drills") == [(4,)]



def test_a_sidecar_backed_up_after_the_dump_is_attached_again_on_restore(database_url, storage, remote, empty_db,
                                                                       tmp_path):
    store = storage["storage"]
    photo = bs.add_asset(database_url, store, 1)
    drain(database_url, store, remote)
    late = add_sidecar(database_url, store, photo, ".xmp", b"<x:xmpmeta>late</x:xmpmeta>")
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=store),
                 BackupSettings(backup_remote=remote.name, backup_dumps=False)).drain()
    summary = restore(rclone.Rclone(), remote.name, Target(tmp_path / "fresh", empty_db), Selection())
    assert summary.ok and summary.registered == [late["library_path"]] and summary.sidecars_verified == 1
    assert bs.query(empty_db, "SELECT library_path, kind, is_backed_up FROM asset_sidecars") == [
        (late["library_path"], "xmp", True)]
    assert bs.query(empty_db, "SELECT count(*) FROM media_assets") == [(1,)]
