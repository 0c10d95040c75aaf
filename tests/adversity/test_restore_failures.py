"""A restore in a hostile world: every way it can fail before it starts is one line on stderr, exit 3,
and nothing changed — not the target database, not the target folder, not the live installation.
A drill killed -9 leaves nothing for good.

Real PostgreSQL, real rclone with a local crypt remote, real mounts (tmpfs, read-only) as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from photo_factory.settings import CoreSettings
from processor.backup.drill import scratch_of
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from processor.backup.store import drop_scratch_database
from tests.support import backup_samples as bs
from tests.support import invariants

pytestmark = pytest.mark.integration


@pytest.fixture
def backed_up(database_url: str, storage: dict[str, Path], remote: bs.Remote) -> list[dict]:
    """A live installation with three originals, backed up with a dump."""
    assets = [bs.add_asset(database_url, storage["storage"], n) for n in range(3)]
    BackupWorker(
        CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
        BackupSettings(backup_remote=remote.name),
    ).drain()
    return assets


@pytest.fixture
def fresh_db(pg_server_url: str, template_db: str) -> Iterator[str]:
    """The database of a freshly started installation: migrated, a heartbeat and a backup run in it."""
    name = f"pf_fresh_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    admin.close()
    url = urlunsplit(urlsplit(pg_server_url)._replace(path="/" + name))
    bs.query(url, "INSERT INTO system_status (service, status, message) VALUES ('backup', 'ok', 'fresh')")
    bs.query(url, "INSERT INTO backup_runs (remote, result) VALUES ('secret:', 'ok')")
    yield url
    drop_scratch_database(pg_server_url, name)


def restore_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("photo-factory"))
    return subprocess.run([exe, "restore", *args], env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_exit_3(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert "Traceback" not in out, out
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("photo-factory restore: "), proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def assert_nothing_changed(before: tuple, target_db: str, target: Path, live: tuple, assets: list[dict]) -> None:
    database_url, storage = live
    assert (bs.db_state(target_db), bs.tree_state(target)) == before
    invariants.check(database_url, storage["inbox"], storage["storage"], {a["sha256"] for a in assets})


@pytest.fixture
def env(pf_env: dict[str, str], remote: bs.Remote) -> dict[str, str]:
    return {**pf_env, **remote.env()}


def run_failure(env, database_url, storage, assets, target_db, target: Path, *args: str, words=()) -> None:
    before = (bs.db_state(target_db), bs.tree_state(target))
    proc = restore_cli(env, "--storage-dir", str(target), "--database-url", target_db, *args)
    assert_one_line_exit_3(proc, *words)
    assert_nothing_changed(before, target_db, target, (database_url, storage), assets)


def test_a_remote_that_is_not_configured_is_one_line_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path):
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", "--remote", "nosuch:",
                words=("nosuch:", "nothing was changed"))
    assert_one_line_exit_3(restore_cli(env, "--list-dumps", "--remote", "nosuch:"), "nosuch:")


def test_a_remote_whose_folder_is_gone_is_one_line_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path, remote):
    os.rename(remote.folder, remote.folder.with_name("moved-away"))
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", words=("does not exist",))
    # --list-dumps used to print nothing and exit 0 here
    assert_one_line_exit_3(restore_cli(env, "--list-dumps"), "does not exist")


def test_a_wrong_crypt_password_is_named_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path, remote):
    (tmp_path / "wrong").mkdir()
    wrong = bs.make_crypt_remote(tmp_path / "wrong", folder=remote.folder)
    lines = wrong.config.read_text().splitlines()
    lines = [f"password = {bs.obscure('rclone', 'not the password')}" if ln.startswith("password =") else ln
             for ln in lines]
    wrong.config.write_text("\n".join(lines) + "\n")
    env = {**env, "RCLONE_CONFIG": str(wrong.config)}
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", words=("password",))
    assert_one_line_exit_3(restore_cli(env, "--list-dumps"), "password")


def _dump_name(env) -> str:
    proc = restore_cli(env, "--list-dumps")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[1].split()[0]


def test_a_dump_altered_on_the_remote_is_refused_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path, remote):
    name = _dump_name(env)
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP but not really" * 100)
    subprocess.run(["rclone", "copyto", str(garbage), f"{remote.name}db/{name}"], env=env, check=True)
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", words=(name, "SHA-256"))


def test_a_dump_without_manifest_that_pg_restore_cannot_read_is_refused_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path, remote):
    name = _dump_name(env)
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(os.urandom(5000))
    subprocess.run(["rclone", "copyto", str(garbage), f"{remote.name}db/{name}"], env=env, check=True)
    subprocess.run(["rclone", "deletefile", f"{remote.name}db/{name}.json"], env=env, check=True)
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", words=(name, "not a readable"))


def test_a_dump_whose_ciphertext_was_tampered_with_is_refused_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path, remote):
    name = _dump_name(env)
    enc = subprocess.run(["rclone", "cryptdecode", "--reverse", remote.name, f"db/{name}"], env=env,
                         capture_output=True, text=True, check=True).stdout.split()[-1]
    path = remote.folder / enc
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new", words=(name,))


def test_a_target_folder_that_is_not_empty_is_refused_and_changes_nothing(
        env, database_url, storage, backed_up, fresh_db, tmp_path):
    target = tmp_path / "new"
    (target / "Library" / "2020").mkdir(parents=True)
    (target / "Library" / "2020" / "keep.jpg").write_bytes(b"someone's photo")
    run_failure(env, database_url, storage, backed_up, fresh_db, target, words=("not empty",))


def test_the_live_database_is_never_overwritten(env, database_url, storage, backed_up, tmp_path):
    run_failure(env, database_url, storage, backed_up, database_url, tmp_path / "new",
                words=("already holds a catalogue", "3 media_assets"))


def test_an_unreachable_database_is_one_line(env, database_url, storage, backed_up, fresh_db, tmp_path):
    proc = restore_cli(env, "--storage-dir", str(tmp_path / "new"), "--database-url",
                       "postgresql://nobody@127.0.0.1:1/nothing")
    assert_one_line_exit_3(proc, "cannot connect")
    assert not (tmp_path / "new").exists()


@pytest.fixture
def mount(tmp_path: Path) -> Iterator:
    mounted: list[Path] = []

    def do(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point

    yield do
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def test_a_read_only_target_is_refused_and_changes_nothing(env, database_url, storage, backed_up, fresh_db, mount):
    target = mount("ro,size=4m") / "storage"
    run_failure(env, database_url, storage, backed_up, fresh_db, target, words=("cannot write",))


def test_a_disk_too_small_is_refused_before_anything_is_written(
        env, database_url, storage, fresh_db, remote, mount):
    assets = [bs.add_asset(database_url, storage["storage"], n, size=700_000) for n in range(3)]
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
                 BackupSettings(backup_remote=remote.name)).drain()
    target = mount("size=1m")
    run_failure(env, database_url, storage, assets, fresh_db, target, words=("free", "need"))


def test_a_drill_with_the_wrong_password_fails_loudly_and_leaves_nothing_behind(
        env, database_url, storage, backed_up, tmp_path, remote):
    from dashboard.status import collect
    from dashboard.status_store import StatusStore

    (tmp_path / "wrong").mkdir()
    wrong = bs.make_crypt_remote(tmp_path / "wrong", folder=remote.folder)
    lines = [f"password = {bs.obscure('rclone', 'not the password')}" if ln.startswith("password =") else ln
             for ln in wrong.config.read_text().splitlines()]
    wrong.config.write_text("\n".join(lines) + "\n")
    live_before = bs.db_state(database_url)
    proc = restore_cli({**env, "RCLONE_CONFIG": str(wrong.config)}, "--drill")
    assert proc.returncode == 3 and "Traceback" not in proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "FAILED, could not restore" in line and "password" in line
    # recorded, and only that changed in the live database
    assert bs.query(database_url, "SELECT result FROM restore_drills") == [("failed",)]
    after = bs.db_state(database_url)
    assert {t: rows for t, rows in after.items() if t != "restore_drills"} == {
        t: rows for t, rows in live_before.items() if t != "restore_drills"}
    store = StatusStore(database_url, "status")
    try:
        report = collect(store, 3.0)
    finally:
        store.close()
    assert report["verdict"] == "error" and any("restore drill" in p for p in report["problems"])
    invariants.check(database_url, storage["inbox"], storage["storage"], {a["sha256"] for a in backed_up})


def test_a_load_that_fails_half_way_leaves_the_target_database_exactly_as_it_was(
        env, database_url, storage, backed_up, fresh_db, tmp_path):
    # an event trigger (outside the public schema) that fails the load after the old schema was
    # dropped and several of the dump's tables were created: what a full disk or a crash would do
    bs.query(fresh_db, """
        CREATE SCHEMA saboteur;
        CREATE FUNCTION saboteur.fail() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
                        WHERE object_identity = 'public.restore_drills') THEN
                RAISE EXCEPTION 'could not extend file: No space left on device (simulated)';
            END IF;
        END $$;
        CREATE EVENT TRIGGER saboteur ON ddl_command_end EXECUTE FUNCTION saboteur.fail();
    """)
    run_failure(env, database_url, storage, backed_up, fresh_db, tmp_path / "new",
                words=("No space left on device", "nothing was changed"))
    bs.query(fresh_db, "DROP EVENT TRIGGER saboteur")
    proc = restore_cli(env, "--storage-dir", str(tmp_path / "new"), "--database-url", fresh_db)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # and the same restore works once it can


def test_a_database_of_another_application_is_never_replaced_not_even_with_force(
        env, database_url, storage, backed_up, tmp_path, pg_server_url):
    from processor.backup.store import create_scratch_database

    name = f"pf_other_{uuid.uuid4().hex[:10]}"
    other = create_scratch_database(pg_server_url, name)
    try:
        bs.query(other, "CREATE TABLE invoices (id int); INSERT INTO invoices VALUES (1)")
        run_failure(env, database_url, storage, backed_up, other, tmp_path / "new", "--force",
                    words=("not Photo Factory's", "invoices"))
    finally:
        drop_scratch_database(pg_server_url, name)


# -- the drill: the same failures, one line, exit 3, recorded failed, nothing else changed ----------
def run_drill_failure(env, database_url, storage, assets, tmp_dir: Path, *words: str) -> None:
    """A drill that cannot restore: one line naming the cause, exit 3, the verdict recorded
    ``failed`` (the Overview shows it), nothing else in the live database or storage changed, and
    no scratch folder left behind."""
    live_before = bs.db_state(database_url)
    tree_before = bs.tree_state(storage["storage"])
    proc = restore_cli({**env, "TMPDIR": str(tmp_dir)}, "--drill")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "FAILED, could not restore" in line, line
    for w in words:
        assert w in line, line
    [(result, detail)] = bs.query(database_url, "SELECT result, detail->>'error' FROM restore_drills")
    assert result == "failed" and detail and detail in line
    after = bs.db_state(database_url)
    assert {t: r for t, r in after.items() if t != "restore_drills"} == {
        t: r for t, r in live_before.items() if t != "restore_drills"}
    assert bs.tree_state(storage["storage"]) == tree_before
    assert not [p for p in tmp_dir.iterdir() if p.name.startswith(("pf-drill-", "pf-restore-"))]
    invariants.check(database_url, storage["inbox"], storage["storage"], {a["sha256"] for a in assets})


def test_a_drill_against_a_remote_whose_folder_is_gone_fails_loudly_and_changes_nothing(
        env, database_url, storage, backed_up, tmp_path, remote):
    os.rename(remote.folder, remote.folder.with_name("moved-away"))
    (tmp_path / "tmp").mkdir()
    run_drill_failure(env, database_url, storage, backed_up, tmp_path / "tmp", "does not exist")


def test_a_drill_against_a_remote_that_is_not_configured_fails_loudly_and_changes_nothing(
        env, database_url, storage, backed_up, tmp_path):
    (tmp_path / "tmp").mkdir()
    run_drill_failure({**env, "PF_BACKUP_REMOTE": "nosuch:"}, database_url, storage, backed_up, tmp_path / "tmp",
                      "nosuch:")


def test_a_drill_of_a_corrupt_dump_fails_loudly_and_changes_nothing(
        env, database_url, storage, backed_up, tmp_path, remote):
    name = _dump_name(env)
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP but not really" * 100)
    subprocess.run(["rclone", "copyto", str(garbage), f"{remote.name}db/{name}"], env=env, check=True)
    (tmp_path / "tmp").mkdir()
    run_drill_failure(env, database_url, storage, backed_up, tmp_path / "tmp", name, "SHA-256")


def test_a_drill_without_room_for_its_scratch_copy_fails_loudly_and_changes_nothing(
        env, database_url, storage, remote, mount):
    assets = [bs.add_asset(database_url, storage["storage"], n, size=700_000) for n in range(3)]
    BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
                 BackupSettings(backup_remote=remote.name)).drain()
    run_drill_failure(env, database_url, storage, assets, mount("size=1m"), "free", "need")


# -- a drill killed -9 (the OOM killer, a container stopped without grace) ------------------------
# Its scratch database (a whole restored catalogue on the live server) and scratch folder (a
# restored copy of the library) are removed by the next drill, and its row ends ``interrupted``
# instead of ``running`` forever; a drill still running is never touched by a second one. rclone
# runs through a shim that, for the first drill's file copy, waits until the test lets it go.
def pausing_rclone(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """PATH with an rclone that, on the first call copying into a drill's scratch folder, touches
    ``paused`` and waits for ``go``; the temporary folder of the drills."""
    shims, paused, go, tmp = tmp_path / "shims", tmp_path / "paused", tmp_path / "go", tmp_path / "tmp"
    shims.mkdir()
    tmp.mkdir()
    real = shutil.which("rclone")
    assert real
    (shims / "rclone").write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in *pf-drill-*) if [ ! -e '{paused}' ]; then touch '{paused}';"
        f" while [ ! -e '{go}' ]; do sleep 0.05; done; fi;; esac\n"
        f"exec '{real}' \"$@\"\n"
    )
    (shims / "rclone").chmod(0o755)
    return {"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp)}, paused, go


def drill(env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    exe = str(Path(sys.executable).with_name("photo-factory"))
    return subprocess.Popen([exe, "restore", "--drill"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, **kw)  # type: ignore[call-overload]


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the drill never reached its file copy"
        time.sleep(0.05)


def scratch_databases(pg_server_url: str, token: str) -> list[str]:
    return [r[0] for r in bs.query(pg_server_url, "SELECT datname FROM pg_database WHERE datname = %s",
                                   (scratch_of(token)[0],))]


def test_a_drill_killed_mid_restore_is_cleaned_up_by_the_next_one(
        env, database_url, pg_server_url, storage, backed_up, tmp_path):
    extra, paused, go = pausing_rclone(tmp_path)
    first = drill({**env, **extra})
    wait_for(paused, first)
    [(first_id, token)] = bs.query(database_url, "SELECT id, detail->>'scratch' FROM restore_drills")
    folder = Path(extra["TMPDIR"]) / f"pf-drill-{token}"
    assert scratch_databases(pg_server_url, token) and folder.is_dir()  # what a kill -9 leaves
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert scratch_databases(pg_server_url, token) and folder.is_dir()

    go.touch()
    second = drill({**env, **extra})
    out = second.communicate(timeout=300)[0]
    assert second.returncode == 0, out
    assert "PASSED" in out
    assert scratch_databases(pg_server_url, token) == []
    assert not folder.exists()
    assert list(Path(extra["TMPDIR"]).iterdir()) == []
    rows = bs.query(database_url, "SELECT id, result, detail->>'error' FROM restore_drills ORDER BY id")
    assert rows[0][:2] == (first_id, "interrupted") and "killed" in rows[0][2]
    assert rows[1][1] == "passed"
    invariants.check(database_url, storage["inbox"], storage["storage"], {a["sha256"] for a in backed_up})


def test_a_second_drill_leaves_a_running_drills_scratch_alone(
        env, database_url, pg_server_url, storage, backed_up, tmp_path):
    extra, paused, go = pausing_rclone(tmp_path)
    first = drill({**env, **extra})
    try:
        wait_for(paused, first)
        [(token,)] = bs.query(database_url, "SELECT detail->>'scratch' FROM restore_drills")
        second = drill({**env, **extra})
        out = second.communicate(timeout=300)[0]
        assert second.returncode == 0, out
        assert scratch_databases(pg_server_url, token)  # still there: its drill runs
        assert (Path(extra["TMPDIR"]) / f"pf-drill-{token}").is_dir()
        go.touch()
        out = first.communicate(timeout=300)[0]
        assert first.returncode == 0, out
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert [r[0] for r in bs.query(database_url, "SELECT result FROM restore_drills ORDER BY id")] == [
        "passed", "passed"]
    assert scratch_databases(pg_server_url, token) == []
    assert list(Path(extra["TMPDIR"]).iterdir()) == []
