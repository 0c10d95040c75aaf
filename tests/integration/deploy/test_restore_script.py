"""``scripts/restore.sh`` finds its targets itself on a ``make run`` machine.

With neither ``PF_DATABASE_URL`` nor ``--database-url``, it restores into make run's own targets:
its private PostgreSQL cluster under ``var/pg`` (started, and the database created, when needed)
and ``var/storage``. Here ``PF_VAR_DIR`` points make run's ``var/`` at a scratch folder and the
remote does not exist, so the restore stops at its first check, having named the targets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from photo_factory import localpg
from tests.e2e.syncthing_peer import free_port

REPO = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.slow]


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # not under pytest's tmp_path: as root the cluster runs as `postgres`, who must enter the folder
    base = Path(tempfile.mkdtemp(prefix="pf-restore-var-"))
    base.chmod(0o755)
    try:
        yield base / "var"
    finally:
        localpg.stop_cluster(base / "var" / "pg")
        shutil.rmtree(base, ignore_errors=True)


def test_without_a_database_url_it_restores_into_make_runs_private_database_and_storage(var_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    env.update(PF_VAR_DIR=str(var_dir), PF_RUN_PG_PORT=str(free_port()),
               PF_BACKUP_REMOTE=str(var_dir.parent / "no-such-remote"))
    proc = subprocess.run([str(REPO / "scripts" / "restore.sh")], env=env, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    assert f"into {var_dir / 'storage'}" in proc.stdout, proc.stdout + proc.stderr
    assert "does not exist" in proc.stderr and proc.returncode == 3, proc.stdout + proc.stderr
    assert (var_dir / "pg" / "PG_VERSION").is_file()


def test_a_database_and_remote_given_as_secret_files_are_the_targets(var_dir: Path, database_url: str) -> None:
    """``PF_DATABASE_URL_FILE`` / ``PF_BACKUP_REMOTE_FILE`` (Docker secrets, as .env.example shows):
    before, the script refused ("set PF_BACKUP_REMOTE") or, with the remote set, restored into make
    run's private database instead of the configured one."""
    secrets = var_dir.parent / "secrets"
    secrets.mkdir()
    (secrets / "db_url").write_text(database_url + "\n")
    (secrets / "remote").write_text(str(var_dir.parent / "no-such-remote") + "\n")
    storage = var_dir.parent / "storage"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    base.update(PF_VAR_DIR=str(var_dir), PF_RUN_PG_PORT=str(free_port()), PF_STORAGE_DIR=str(storage),
                PF_DATABASE_URL_FILE=str(secrets / "db_url"))
    for remote in ({"PF_BACKUP_REMOTE_FILE": str(secrets / "remote")},
                   {"PF_BACKUP_REMOTE": str(var_dir.parent / "no-such-remote")}):
        proc = subprocess.run([str(REPO / "scripts" / "restore.sh")], env={**base, **remote}, capture_output=True,
                              text=True, timeout=240, stdin=subprocess.DEVNULL)
        assert f"into {storage}" in proc.stdout, proc.stdout + proc.stderr
        assert "does not exist" in proc.stderr and proc.returncode == 3, proc.stdout + proc.stderr
        assert not (var_dir / "pg").exists(), "make run's private cluster was started"
