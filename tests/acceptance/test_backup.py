"""Steps for backup.feature: the real ``photo-factory librarian/backup/restore/thumbnails`` CLIs,
real rclone with a crypt remote over a local folder, real PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import backup_samples as bs
from tests.support.cli import run_cli

scenarios("backup.feature")



@pytest.fixture
def ctx() -> dict:
    return {}


@pytest.fixture
def env(pf_env: dict[str, str]) -> dict[str, str]:
    return dict(pf_env)


@given("an encrypted backup remote")
def encrypted_remote(tmp_path: Path, env: dict[str, str], ctx: dict) -> None:
    ctx["remote"] = bs.make_crypt_remote(tmp_path / "rclone")
    env.update(ctx["remote"].env())
    env["PF_BACKUP_RETRY_BASE_SECONDS"] = "0.5"


@given(parsers.parse('a photo "{rel}" in the inbox'))
def a_photo(storage: dict[str, Path], ctx: dict, rel: str) -> None:
    path = storage["inbox"] / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bs.sample_jpeg(1))
    ctx["photo"] = path.read_bytes()


@given(parsers.parse("{n:d} photos in the inbox"))
def photos(storage: dict[str, Path], n: int) -> None:
    for i in range(n):
        (storage["inbox"] / f"IMG_{i:04d}.JPG").write_bytes(bs.sample_jpeg(i + 10))


@given("the librarian and the backup have run")
@when("the librarian and the backup have run")
def librarian_and_backup(env: dict[str, str]) -> None:
    run_cli(env, "librarian", "--once")
    run_cli(env, "backup", "--once")


@when("the backup has run")
def backup_runs(env: dict[str, str]) -> None:
    run_cli(env, "backup", "--once")


@given("the remote is unreachable")
def remote_unreachable(ctx: dict, tmp_path: Path) -> None:
    remote: bs.Remote = ctx["remote"]
    ctx["good_config"] = remote.config.read_text()
    blocker = tmp_path / "unplugged-disk"
    blocker.write_text("a file where the backup folder should be")
    remote.config.write_text(ctx["good_config"].replace(str(remote.folder), str(blocker / "backup")))


@when("the remote is reachable again and the retry is due")
def remote_back(ctx: dict, database_url: str) -> None:
    ctx["remote"].config.write_text(ctx["good_config"])
    bs.query(database_url, "UPDATE stage_jobs SET not_before = now() WHERE stage = 'backup' RETURNING 1")


@then("the photo is marked as backed up")
def marked(database_url: str) -> None:
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(True,)]


@then("the photo is not marked as backed up")
def not_marked(database_url: str) -> None:
    assert bs.query(database_url, "SELECT is_backed_up FROM media_assets") == [(False,)]
    [(state, reason)] = bs.query(database_url, "SELECT state, reason_code FROM stage_jobs WHERE stage = 'backup'")
    assert state == "pending" and reason == "rclone_failed"


@then("the backup run is recorded as failed with its reason")
def run_failed(database_url: str) -> None:
    [(result, reason, error)] = bs.query(database_url, "SELECT result, reason, error FROM backup_runs")
    assert result == "failed" and reason == "rclone_failed" and "not a directory" in error


@then("the remote holds the photo and a database dump, encrypted")
def remote_holds(ctx: dict, env: dict[str, str]) -> None:
    listing = subprocess.run(
        ["rclone", "lsf", "-R", "--files-only", env["PF_BACKUP_REMOTE"]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len([p for p in listing if p.startswith("Library/")]) == 1
    assert len([p for p in listing if p.startswith("db/photo_factory-") and p.endswith(".dump")]) == 1
    assert len([p for p in listing if p.startswith("db/photo_factory-") and p.endswith(".dump.json")]) == 1
    assert len(bs.remote_bytes(ctx["remote"].folder)) == 3  # the photo, the dump and its manifest


@then("no file name or content of the photo appears in plain text on the remote")
def nothing_plain(ctx: dict) -> None:
    photo: bytes = ctx["photo"]
    for rel, content in bs.remote_bytes(ctx["remote"].folder):
        assert "IMG_0001" not in rel and "Library" not in rel and "photo_factory" not in rel
        for i in range(0, len(photo) - 32, 512):  # no 32-byte stretch of the photo survives
            assert photo[i : i + 32] not in content
        assert b"PHOTO-FACTORY-SAMPLE" not in content


@when("the storage and the database are lost")
def lose_everything(storage: dict[str, Path], database_url: str, ctx: dict) -> None:
    cols = "library_path, sha256, size_bytes, capture_date, captured_local, camera_model, original_name"
    ctx["cols"] = cols
    ctx["rows"] = bs.query(database_url, f"SELECT {cols} FROM media_assets ORDER BY library_path")
    ctx["files"] = {
        str(p.relative_to(storage["storage"])): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (storage["storage"] / "Library").rglob("*")
        if p.is_file()
    }
    assert len(ctx["files"]) == len(ctx["rows"]) > 0
    shutil.rmtree(storage["storage"])
    bs.query(database_url, "TRUNCATE media_assets, backup_runs, backup_dumps CASCADE")


@when("the backup is restored into a fresh folder and database")
def restore_fresh(env: dict[str, str], tmp_path: Path, empty_db: str, ctx: dict) -> None:
    ctx["fresh"] = tmp_path / "fresh-storage"
    proc = run_cli(env, "restore", "--storage-dir", str(ctx["fresh"]), "--database-url", empty_db)
    ctx["restore_out"] = proc.stdout


@then("the restore reports every file verified")
def every_file_verified(ctx: dict) -> None:
    out = ctx["restore_out"]
    assert f"SHA-256 verified:     {len(ctx['rows'])}" in out and "mismatches:   0" in out
    assert "OK, every restored file matches the database" in out


@then("the fresh database has the same rows and the fresh folder the same bytes")
def same_rows_and_bytes(ctx: dict, empty_db: str) -> None:
    assert bs.query(empty_db, f"SELECT {ctx['cols']} FROM media_assets ORDER BY library_path") == ctx["rows"]
    fresh: Path = ctx["fresh"]
    got = {
        str(p.relative_to(fresh)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (fresh / "Library").rglob("*")
        if p.is_file()
    }
    assert got == ctx["files"]


@then("the thumbnail worker runs on the restored library")
def thumbnails_on_restored(env: dict[str, str], ctx: dict, empty_db: str) -> None:
    fresh_env = {**env, "PF_STORAGE_DIR": str(ctx["fresh"]), "PF_DATABASE_URL": empty_db}
    bs.query(empty_db, "UPDATE media_assets SET is_thumbnailed = false RETURNING 1")
    run_cli(fresh_env, "thumbnails", "--once")
    assert bs.query(empty_db, "SELECT bool_and(is_thumbnailed) FROM media_assets") == [(True,)]


@when("the restore drill runs")
def drill(env: dict[str, str], ctx: dict) -> None:
    ctx["drill"] = run_cli(env, "restore", "--drill", check=False)


@then("the drill passes and is recorded")
def drill_passed(ctx: dict, database_url: str) -> None:
    proc = ctx["drill"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED" in proc.stdout
    assert bs.query(database_url, "SELECT result, files_checked, mismatches FROM restore_drills") == [("passed", 2, 0)]
