"""Restore from a real rclone crypt remote into a fresh folder and database, verified by SHA-256."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from photo_factory import migrate
from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.drill import run_drill
from processor.backup.restore import Refused, Target, restore
from processor.backup.selection import Selection
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from processor.backup.store import create_scratch_database, drop_scratch_database
from tests.support import backup_samples as bs

#: the schema version a dump of a freshly migrated catalogue carries (the newest migration)
SCHEMA = str(migrate.discover()[-1].version)

pytestmark = pytest.mark.integration


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
    header, row = proc.stdout.splitlines()
    assert header.split()[:2] == ["DUMP", "CREATED"]
    name, _day, _time, *rest = row.split()
    assert name.startswith("photo_factory-") and name.endswith("Z.dump")
    assert rest[2:4] == ["1", SCHEMA] and "restored by default" in row  # size, unit, assets, schema


# -- after a disk loss: the empty catalogue's dump never becomes the one a restore picks ------------
def cli(env: dict[str, str], *args: str):
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("photo-factory"))
    return subprocess.run([exe, "restore", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def second_db(pg_server_url: str):
    from photo_factory import migrate

    name = f"pf_r2_{uuid.uuid4().hex[:12]}"
    url = create_scratch_database(pg_server_url, name)
    migrate.apply(url)
    yield url
    drop_scratch_database(pg_server_url, name)


def test_an_empty_catalogue_after_a_disk_loss_never_becomes_the_dump_a_restore_picks(
        database_url, storage, remote, second_db, empty_db, tmp_path, pf_env):
    assets = [bs.add_asset(database_url, storage["storage"], n) for n in range(4)]
    back_up(database_url, storage["storage"], remote)
    [(good,)] = bs.query(database_url, "SELECT name FROM backup_dumps")
    # the disk died: `up -d` on a fresh database; the backup service dumps the empty catalogue at once
    new_disk = tmp_path / "new-disk"
    worker = BackupWorker(CoreSettings(database_url=second_db, storage_dir=new_disk),
                          BackupSettings(backup_remote=remote.name))
    beat = {"last_backup": "never", "queue": 0, "failed_items": 0}
    try:
        worker.backup.on_idle()
        status, message = worker.beat_status(beat)
        assert status == "degraded" and "holds 0 assets, the newest good dump 4" in message
        [(empty,)] = bs.query(second_db, "SELECT name FROM backup_dumps")
        assert empty > good
        worker.backup.on_idle()  # no second empty dump a minute later
        assert bs.query(second_db, "SELECT count(*) FROM backup_dumps") == [(1,)]

        env = {**pf_env, **remote.env()}
        listing = cli(env, "--list-dumps")
        assert listing.returncode == 0, listing.stderr
        rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
        assert list(rows) == [empty, good]  # newest first
        assert rows[empty].split()[5:7] == ["0", SCHEMA] and "EMPTY" in rows[empty]
        assert rows[good].split()[5:7] == ["4", SCHEMA] and "restored by default" in rows[good]

        # the empty dump on purpose: refused without --force, restored with it
        other = tmp_path / "other"
        refused = cli(env, "--storage-dir", str(other), "--database-url", empty_db, "--dump", empty)
        assert refused.returncode == 3 and "holds no assets" in refused.stderr and "--force" in refused.stderr
        forced = cli(env, "--storage-dir", str(other), "--database-url", empty_db, "--dump", empty, "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr
        # an empty dump, but nothing backed up is lost: the originals on the remote are registered again
        assert "re-registered:        4" in forced.stdout

        # the README's restore, no --dump, into the database the running services use: the good dump
        summary = restore(rclone.Rclone(), remote.name, Target(new_disk, second_db), Selection())
        assert summary.ok and summary.dump_name == good and summary.verified == 4
        assert all((new_disk / a["library_path"]).read_bytes() == a["data"] for a in assets)
        # the empty dump is known to the restored catalogue, so retention expires it like any other
        assert bs.query(second_db, "SELECT name FROM backup_dumps ORDER BY name") == [(good,), (empty,)]
        # the running backup service dumps the restored catalogue at once: the warning ends
        worker.backup.on_idle()
        assert worker.beat_status(beat)[0] == "ok"
        [(newest,)] = bs.query(second_db, "SELECT name FROM backup_dumps WHERE expired_at IS NULL")
        assert newest > empty  # one dump a day kept: the restored catalogue's; the empty one expired
        assert "restored by default" in cli(env, "--list-dumps").stdout.splitlines()[1]
    finally:
        worker.close()


# -- whatever the backup holds comes back; thumbnails are rebuilt -------------------------------------
def test_panoramas_come_back_with_the_originals_and_one_can_be_fetched_alone(
        database_url, storage, remote, empty_db, tmp_path, pf_env):
    a = bs.add_asset(database_url, storage["storage"], 1)
    pano = bs.add_panorama(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    target = tmp_path / "restored"
    summary = restore(rclone.Rclone(), remote.name, Target(target, empty_db), Selection())
    assert summary.ok and summary.verified == 2 and not summary.missing
    assert (target / pano["library_path"]).read_bytes() == pano["data"]
    assert (target / a["library_path"]).read_bytes() == a["data"]

    pano["path"].unlink()  # one lost panorama, fetched alone into the live library
    proc = cli({**pf_env, **remote.env()}, "--files-only", "--storage-dir", str(storage["storage"]),
               "--file", pano["library_path"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pano["path"].read_bytes() == pano["data"]


def test_thumbnails_are_rebuilt_after_a_restore(database_url, storage, remote, empty_db, tmp_path, pf_env):
    import subprocess
    import sys

    from processor.thumbnails.paths import thumbnail_rel

    jpeg = bs.sample_jpeg(7)
    path = storage["storage"] / "Library/2024/2024-01-31/IMG_0007.JPG"
    path.parent.mkdir(parents=True)
    path.write_bytes(jpeg)
    import hashlib

    bs.query(database_url,
             "INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type, captured_local,"
             " capture_date, date_source, tz_source, is_thumbnailed)"
             " VALUES (%s, 'Library/2024/2024-01-31/IMG_0007.JPG', 'IMG_0007.JPG', %s, 'image',"
             " '2024-01-31 12:00', '2024-01-31', 'test', 'test', true)",
             (hashlib.sha256(jpeg).hexdigest(), len(jpeg)))
    back_up(database_url, storage["storage"], remote)  # thumbnails are not backed up by default
    target = tmp_path / "restored"
    summary = restore(rclone.Rclone(), remote.name, Target(target, empty_db), Selection())
    assert summary.ok and summary.thumbnails_queued == 1
    assert bs.query(empty_db, "SELECT is_thumbnailed FROM media_assets") == [(False,)]
    env = {**pf_env, "PF_DATABASE_URL": empty_db, "PF_STORAGE_DIR": str(target)}
    exe = str(Path(sys.executable).with_name("photo-factory"))
    done = subprocess.run([exe, "thumbnails", "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert bs.query(empty_db, "SELECT is_thumbnailed FROM media_assets") == [(True,)]
    assert (target / thumbnail_rel("Library/2024/2024-01-31/IMG_0007.JPG", 256)).is_file()


# -- the restored catalogue does not bring back what cannot be true any more ----------------------------
def test_a_restore_closes_the_stale_state_of_the_lost_installation(
        database_url, storage, remote, empty_db, tmp_path, pf_env):
    a = bs.add_asset(database_url, storage["storage"], 1)
    bs.query(database_url, "INSERT INTO stage_workers (worker_id, stage, host, pid) VALUES ('w', 'thumbnails', 'h', 1)")
    bs.query(database_url, "INSERT INTO stage_jobs (asset_id, stage, state, attempts, claimed_by, claimed_at,"
                           " started_at) VALUES (%s, 'thumbnails', 'claimed', 1, 'w', now(), now())", (a["id"],))
    q = storage["storage"] / "Quarantine/unsupported_type/notes.txt"
    q.parent.mkdir(parents=True)
    q.write_text("not a photo")
    bs.query(database_url,
             "INSERT INTO quarantine (reason, source_path, quarantine_path, original_name)"
             " VALUES ('unsupported_type', 'notes.txt', 'Quarantine/unsupported_type/notes.txt', 'notes.txt')")
    bs.query(database_url, "INSERT INTO alert_incidents (key, kind, subject) VALUES"
                           " ('service:librarian', 'service', 'librarian is stale')")
    bs.query(database_url, "INSERT INTO system_status (service, status) VALUES ('librarian', 'ok')")
    bs.query(database_url, "INSERT INTO restore_drills (remote) VALUES ('secret:')")
    back_up(database_url, storage["storage"], remote)  # its own run is "running" inside its dump
    target = tmp_path / "restored"
    proc = cli({**pf_env, **remote.env()}, "--storage-dir", str(target), "--database-url", empty_db)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "next steps:" in proc.stdout and "photo-factory status" in proc.stdout
    assert bs.query(empty_db, "SELECT result FROM backup_runs") == [("interrupted",)]
    assert bs.query(empty_db, "SELECT result FROM restore_drills") == [("interrupted",)]
    assert bs.query(empty_db, "SELECT count(*) FROM alert_incidents WHERE resolved_at IS NULL") == [(0,)]
    # closed without a "recovered" message for an incident of the old installation
    assert bs.query(empty_db, "SELECT count(*) FROM alert_incidents WHERE resolve_notified_at IS NULL") == [(0,)]
    assert bs.query(empty_db, "SELECT count(*) FROM system_status") == [(0,)]
    assert bs.query(empty_db, "SELECT status FROM quarantine") == [("file_missing",)]
    assert bs.query(empty_db, "SELECT state, claimed_by FROM stage_jobs") == [("pending", None)]
    assert bs.query(empty_db, "SELECT count(*) FROM stage_workers") == [(0,)]


# -- a failed drill reaches the verdict, and counts each missing file once -----------------------------
def test_a_failed_drill_reaches_the_status_verdict_and_counts_a_missing_file_once(
        database_url, storage, remote, pf_env):
    from dashboard.status import collect
    from dashboard.status_store import StatusStore

    a = bs.add_asset(database_url, storage["storage"], 1)
    bs.add_asset(database_url, storage["storage"], 2)
    back_up(database_url, storage["storage"], remote)
    enc = [p for p in remote.folder.rglob("*") if p.is_file() and len(p.relative_to(remote.folder).parts) == 4]
    assert len(enc) == 2
    for p in enc:  # one original lost on the remote
        import subprocess

        name = subprocess.run(["rclone", "cryptdecode", remote.name, str(p.relative_to(remote.folder))],
                              capture_output=True, text=True, env={**pf_env, **remote.env()}).stdout
        if a["library_path"] in name:
            p.unlink()
    lines: list[str] = []
    assert run_drill(rclone.Rclone(), remote.name, database_url, Selection(), None, lines.append) == 1
    assert bs.query(database_url, "SELECT result, missing FROM restore_drills") == [("failed", 1)]
    store = StatusStore(database_url, "status")
    try:
        report = collect(store, 3.0)
    finally:
        store.close()
    assert report["verdict"] == "error"
    assert any(p.startswith("last restore drill") and "1 missing" in p for p in report["problems"])

    # a drill that cannot even restore is recorded failed, one line, exit 3
    proc = cli({**pf_env, **remote.env()}, "--drill", "--remote", "nosuch:")
    assert proc.returncode == 3 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stdout
    assert bs.query(database_url, "SELECT result FROM restore_drills ORDER BY id") == [("failed",), ("failed",)]


def test_force_never_overwrites_a_file_already_in_the_target(database_url, storage, remote, empty_db, tmp_path):
    a = bs.add_asset(database_url, storage["storage"], 1)
    back_up(database_url, storage["storage"], remote)
    target = tmp_path / "restored"
    mine = target / a["library_path"]
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"a newer photo that happens to have the same name")
    summary = restore(rclone.Rclone(), remote.name, Target(target, empty_db, force=True), Selection())
    assert summary.mismatched == [a["library_path"]] and not summary.ok  # reported, exit 1
    assert mine.read_bytes() == b"a newer photo that happens to have the same name"


def test_a_restore_holds_alerts_while_it_fetches_the_files_and_releases_them_after(
        database_url, storage, remote, empty_db, tmp_path):
    """Issue 13: restore sets maintenance itself (problems recorded, alerts held) and clears it."""
    bs.add_asset(database_url, storage["storage"], 0)
    back_up(database_url, storage["storage"], remote)
    summary = restore(rclone.Rclone(), remote.name, Target(tmp_path / "fresh", empty_db), Selection())
    assert summary.ok
    actions = bs.query(empty_db, "SELECT action, actor, detail->>'reason' FROM operator_actions"
                                 " WHERE action LIKE 'maintenance%%' ORDER BY id")
    assert [(a, who) for a, who, _ in actions] == [("maintenance_on", "restore"), ("maintenance_off", "restore")]
    assert "restore" in actions[0][2]
    assert bs.query(empty_db, "SELECT count(*) FROM maintenance WHERE until > now()") == [(0,)]


# -- one photo restored alone brings what belongs to it ---------------------------------------------
def _photo_with_companions(database_url: str, storage: Path) -> dict:
    """A motion photo with an XMP sidecar: the video (and its poster) under Derivatives/motion/."""
    import hashlib
    import json

    photo = bs.add_asset(database_url, storage, 5, size=20_000)
    xmp = photo["library_path"][: -len(".JPG")] + ".xmp"
    (storage / xmp).write_bytes(b"<x:xmpmeta>rating 5</x:xmpmeta>")
    video_rel = "Derivatives/motion/" + photo["library_path"].removeprefix("Library/") + ".mp4"
    offset, length = 4_000, 9_000
    (storage / video_rel).parent.mkdir(parents=True)
    (storage / video_rel).write_bytes(photo["data"][offset:offset + length])
    (storage / f"{video_rel}.jpg").write_bytes(b"poster")
    side = (storage / xmp).read_bytes()
    bs.query(database_url, "INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes,"
             " sha256) VALUES (%s, %s, 'xmp', %s, %s, %s)",
             (photo["id"], xmp, xmp.rsplit("/", 1)[-1], len(side), hashlib.sha256(side).hexdigest()))
    bs.query(database_url, "UPDATE media_assets SET motion_video = %s, is_thumbnailed = true,"
             " metadata = jsonb_build_object('PF:MotionPhoto', %s::jsonb) WHERE id = %s",
             (video_rel, json.dumps({"source": "test", "problem": None, "offset": offset, "length": length}),
              photo["id"]))
    return {**photo, "xmp": xmp, "video": video_rel, "poster": f"{video_rel}.jpg",
            "backup": {p: (storage / p).read_bytes() for p in (photo["library_path"], xmp, video_rel,
                                                               f"{video_rel}.jpg")}}


def test_one_photo_restored_alone_brings_its_sidecars_and_motion_video(database_url, storage, remote, pf_env):
    photo = _photo_with_companions(database_url, storage["storage"])
    other = bs.add_asset(database_url, storage["storage"], 6)
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
                 BackupSettings(backup_remote=remote.name, backup_derivatives=True, backup_dumps=False)).drain()
    for rel in photo["backup"]:
        (storage["storage"] / rel).unlink()
    proc = cli({**pf_env, **remote.env()}, "--files-only", "--storage-dir", str(storage["storage"]),
               "--file", photo["library_path"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel, data in photo["backup"].items():
        assert (storage["storage"] / rel).read_bytes() == data, rel
    said = [ln for ln in proc.stdout.splitlines() if ln.startswith("restored with it:")]
    assert [ln.split()[-1] for ln in said] == [photo["xmp"], photo["video"], photo["poster"]], proc.stdout
    assert "SHA-256 verified:     3 (1 of them sidecars)" in proc.stdout  # photo, sidecar, video (by its range)
    assert other["path"].is_file()
    assert bs.query(database_url, "SELECT is_thumbnailed FROM media_assets WHERE id = %s", (photo["id"],)) == [(True,)]


def test_a_motion_video_the_backup_does_not_hold_is_extracted_again(database_url, storage, remote, pf_env):
    photo = _photo_with_companions(database_url, storage["storage"])
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
                 BackupSettings(backup_remote=remote.name, backup_dumps=False)).drain()  # originals and sidecars
    for rel in photo["backup"]:
        (storage["storage"] / rel).unlink()
    proc = cli({**pf_env, **remote.env()}, "--files-only", "--storage-dir", str(storage["storage"]),
               "--file", photo["library_path"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (storage["storage"] / photo["xmp"]).read_bytes() == photo["backup"][photo["xmp"]]
    assert f"motion video:         {photo['video']} is not in the backup: queued" in proc.stdout
    # the thumbnails stage extracts it again from the restored photo
    assert bs.query(database_url, "SELECT is_thumbnailed FROM media_assets WHERE id = %s", (photo["id"],)) == [(False,)]
