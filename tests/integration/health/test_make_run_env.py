"""Findings 9 and 10: `make run` says where its database is (var/photo-factory.env) and the CLI
finds it from a second shell; a wrong role fails at once instead of waiting; the quick start's
dashboard listens on loopback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from photo_factory import db, devrun, runenv
from tests.support.monitoring_samples import seed_heartbeat

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).with_name("photo-factory"))


def test_status_from_a_second_shell_reads_the_env_file_make_run_wrote(database_url, storage, tmp_path):
    seed_heartbeat(database_url, "librarian", "ok")
    written = runenv.write(tmp_path / "var" / runenv.NAME, {
        "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(storage["inbox"]),
        "PF_STORAGE_DIR": str(storage["storage"])})
    assert stat.S_IMODE(written.stat().st_mode) == 0o600  # the URL may hold a password
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    proc = subprocess.run([CLI, "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Everything is fine" in proc.stdout
    assert "var/photo-factory.env" in proc.stderr


def test_a_set_database_url_wins_over_the_env_file(tmp_path, monkeypatch):
    runenv.write(tmp_path / "make-run.env", {"PF_DATABASE_URL": "postgresql://from-file/x"})
    monkeypatch.setenv("PF_ENV_FILE", str(tmp_path / "make-run.env"))
    monkeypatch.setenv("PF_DATABASE_URL", "postgresql://set/y")
    assert runenv.load_if_unset(quiet=True) is None and os.environ["PF_DATABASE_URL"] == "postgresql://set/y"
    monkeypatch.delenv("PF_DATABASE_URL")
    assert runenv.load_if_unset(quiet=True) == tmp_path / "make-run.env"
    assert os.environ["PF_DATABASE_URL"] == "postgresql://from-file/x"


def test_a_role_that_does_not_exist_fails_at_once_instead_of_waiting(database_url):
    parts = urlsplit(database_url)
    host = parts.netloc.rpartition("@")[2]
    wrong = urlunsplit(parts._replace(netloc=f"no_such_role@{host}"))
    with pytest.raises(psycopg2.OperationalError, match="no_such_role"):
        db.wait_for(wrong, "test", timeout=3600)  # would retry for an hour if it waited


def test_the_quick_start_dashboard_listens_on_loopback_unless_asked():
    argv = dict(devrun.SERVICES)["dashboard"]
    assert argv[argv.index("--address") + 1] == "127.0.0.1"


# A database given as a secret file (PF_DATABASE_URL_FILE) or in another case (the settings read
# PF_ variables in any case) is the one make run and a second shell use: before, make run started
# its private cluster and its upper-case PF_DATABASE_URL won over the user's (every service ran
# against the wrong database), and `photo-factory status` took make run's database over a
# `pf_database_url` set in the shell.
@pytest.fixture
def no_pf(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.upper().startswith("PF_")]:
        monkeypatch.delenv(key)
    monkeypatch.setattr(devrun, "VAR", tmp_path / "var")

    def no_private_cluster(*_a, **_k):
        raise AssertionError("make run started its private cluster over the configured database")

    monkeypatch.setattr(devrun.localpg, "ensure_cluster", no_private_cluster)


@pytest.mark.parametrize("given", ["secret_file", "lower_case"])
def test_make_run_uses_the_database_the_settings_would(no_pf, monkeypatch, tmp_path, given):
    from photo_factory.settings import CoreSettings, load

    url = "postgresql://pf:s3cret@db.example/photos"
    if given == "secret_file":
        (tmp_path / "db_url").write_text(url + "\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PF_DATABASE_URL_FILE", "db_url")  # relative: the env file makes it absolute
    else:
        monkeypatch.setenv("pf_database_url", url)
    env = devrun._env()
    assert "PF_DATABASE_URL" not in env  # it would win over the user's own
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load(CoreSettings).database_url == url  # what each child reads
    # a second shell in another folder finds it in make run's env file
    written = runenv.write(tmp_path / "var" / runenv.NAME, env)
    for key in [k for k in os.environ if k.upper().startswith("PF_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir("/")
    monkeypatch.setenv("PF_ENV_FILE", str(written))
    assert runenv.load_if_unset(quiet=True) == written
    assert load(CoreSettings).database_url == url


def test_a_database_url_set_in_lower_case_wins_over_make_runs_env_file(no_pf, tmp_path, monkeypatch):
    from photo_factory.settings import CoreSettings, load

    runenv.write(tmp_path / "make-run.env", {"PF_DATABASE_URL": "postgresql://make-run/x",
                                             "PF_INBOX_DIR": str(tmp_path / "run-inbox")})
    monkeypatch.setenv("PF_ENV_FILE", str(tmp_path / "make-run.env"))
    monkeypatch.setenv("pf_database_url", "postgresql://mine/y")
    assert runenv.load_if_unset(quiet=True) is None
    assert load(CoreSettings).database_url == "postgresql://mine/y"
    monkeypatch.delenv("pf_database_url")
    monkeypatch.setenv("pf_inbox_dir", str(tmp_path / "my-inbox"))  # a folder of mine stays mine
    assert runenv.load_if_unset(quiet=True) == tmp_path / "make-run.env"
    got = load(CoreSettings)
    assert got.database_url == "postgresql://make-run/x" and got.inbox_dir == tmp_path / "my-inbox"


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "hand_edited"])
def test_an_env_file_that_cannot_be_read_does_not_stop_every_command(tmp_path, kind):
    """``PF_ENV_FILE`` is read by every command when no database is set: before, a FIFO there
    blocked every command forever, /dev/zero took all memory, and a line with an unbalanced
    quote (or Latin-1 bytes) made every command die with a traceback."""
    env_file = tmp_path / "photo-factory.env"
    if kind == "fifo":
        os.mkfifo(env_file)
    elif kind == "hand_edited":
        env_file.write_bytes(b"PF_INBOX_DIR='/srv/my inbox\nPF_STORAGE_DIR=/srv/st\xe4rage\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PF_")}
    env["PF_ENV_FILE"] = "/dev/zero" if kind == "dev_zero" else str(env_file)

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    try:
        proc = subprocess.run([CLI, "thumbnails", "--show-failed"], env={**env, "PF_DB_WAIT_SECONDS": "1"},
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail("a command waited forever for PF_ENV_FILE")
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr
    if kind == "hand_edited":  # the good line is used, the broken one skipped
        assert runenv.parse(env_file.read_text(errors="surrogateescape")) == {
            "PF_STORAGE_DIR": os.fsdecode(b"/srv/st\xe4rage")}
    else:
        assert "PF_ENV_FILE" in proc.stderr, proc.stderr
