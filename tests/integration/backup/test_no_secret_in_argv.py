"""No secret on a command line: every user of the machine can read a child's argv (``ps``,
``/proc/<pid>/cmdline``), so the crypt passwords, their obscured forms and the database password
travel by stdin, the config file or the environment, never as arguments.

Every child the backup, its dump and a restore start (rclone, pg_dump, pg_restore, psql) is run
through a recording shim on PATH that logs its argv, then execs the real tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rclone
from processor.backup.restore import Target, restore
from processor.backup.selection import Selection
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from processor.backup.store import create_scratch_database, drop_scratch_database
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
TOOLS = ("rclone", "pg_dump", "pg_restore", "psql")
#: The test cluster trusts local connections: libpq sends this only if the server asks, and the
#: point is that it never appears on a command line either way.
DB_PASSWORD = "db-password-never-in-argv"


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return bs.record_argv(tmp_path, monkeypatch, TOOLS)


def with_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.replace("@", f":{DB_PASSWORD}@", 1) if "@" in parts.netloc else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc))


def test_obscure_reads_the_password_from_stdin(recorded: Path) -> None:
    password = "  a pass phrase with spaces, ünïcode and $(quotes)'\"  "
    obscured = rclone.obscure("rclone", password)

    calls = bs.recorded_argv(recorded)
    assert [c[1:] for c in calls] == [["obscure", "-"]]
    # `--`: an obscured value starts with "-" one time in 64 (random IV, base64url)
    revealed = subprocess.run(["rclone", "reveal", "--", obscured], capture_output=True, text=True, check=True)
    assert revealed.stdout.rstrip("\n") == password


@pytest.mark.parametrize("password", ["", "two\nlines", "carriage\rreturn"])
def test_obscure_refuses_what_rclone_would_obscure_wrongly(password: str, recorded: Path) -> None:
    """Given no line rclone obscures ``-`` itself, and it keeps only the first line."""
    with pytest.raises(rclone.RcloneError):
        rclone.obscure("rclone", password)
    assert bs.recorded_argv(recorded) == []


def test_a_backup_with_its_dump_and_a_restore_put_no_secret_on_any_command_line(
    database_url, storage, remote, pg_server_url, tmp_path, recorded
):
    url = with_password(database_url)
    for n in range(3):
        bs.add_asset(database_url, storage["storage"], n)
    BackupWorker(CoreSettings(database_url=url, storage_dir=storage["storage"]),
                 BackupSettings(backup_remote=remote.name)).drain()
    name = f"pf_argv_{uuid.uuid4().hex[:10]}"
    empty = create_scratch_database(pg_server_url, name)
    try:
        restore(rclone.Rclone(), remote.name, Target(tmp_path / "fresh", with_password(empty)), Selection())
    finally:
        drop_scratch_database(pg_server_url, name)

    calls = bs.recorded_argv(recorded)
    used = {Path(c[0]).name for c in calls}
    assert {"rclone", "pg_dump", "pg_restore", "psql"} <= used, used  # the shims saw every kind of child
    secrets = [bs.CRYPT_PASSWORD, bs.CRYPT_SALT, DB_PASSWORD, *_obscured_in(remote.config)]
    leaks = [(c, s) for c in calls for s in secrets if any(s in arg for arg in c)]
    assert leaks == []


def _obscured_in(config: Path) -> list[str]:
    return [ln.split("=", 1)[1].strip() for ln in config.read_text().splitlines() if ln.startswith("password")]


def test_the_restore_script_passes_the_database_by_name_never_its_password(
    database_url, storage, tmp_path, monkeypatch
):
    """scripts/restore.sh used to append ``--database-url $PF_DATABASE_URL`` (password included)
    to ``photo-factory restore`` and give it to ``pg_isready``: both argvs are readable by anyone."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    log = bs.record_argv(tmp_path, monkeypatch, ("photo-factory", "pg_isready"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    env.update(PF_DATABASE_URL=with_password(database_url), PF_STORAGE_DIR=str(tmp_path / "fresh"),
               PF_BACKUP_REMOTE=str(tmp_path / "no-such-remote"),
               PHOTO_FACTORY=str(tmp_path / "shims" / "photo-factory"))
    proc = subprocess.run([str(REPO / "scripts" / "restore.sh")], env=env, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3 and "does not exist" in proc.stderr, proc.stdout + proc.stderr  # first check
    calls = bs.recorded_argv(log)
    assert {Path(c[0]).name for c in calls} == {"photo-factory", "pg_isready"}, calls
    assert [c for c in calls if any(DB_PASSWORD in arg for arg in c)] == []
    assert any("--into-configured-database" in c for c in calls), calls
