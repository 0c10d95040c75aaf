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
