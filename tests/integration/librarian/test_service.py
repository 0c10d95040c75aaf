"""The librarian as a long-running service: watching, heartbeats, graceful shutdown, standby."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from tests.support import samples

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).with_name("photo-factory"))


def wait_for(pred, timeout=60.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def arrive(inbox: Path, rel: str, seed: int) -> None:
    """A finished photo appears at ``inbox/rel`` at once, the way Syncthing renames its temporary:
    written (and rewritten by ExifTool) next to the inbox first, so a live librarian never sees it
    half-made."""
    made = samples.photo(inbox.parent / f"staging-{seed}" / Path(rel).name, seed=seed)
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    made.replace(dest)


def status(database_url):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, message, details FROM system_status WHERE service = 'librarian'")
        return cur.fetchone()


def test_the_running_librarian_files_a_new_file_beats_and_stops_cleanly_on_sigterm(pf_env, storage, database_url):
    env = {**pf_env, "PF_LIBRARIAN_HEARTBEAT_SECONDS": "1", "PF_RESCAN_SECONDS": "3600"}
    proc = subprocess.Popen([CLI, "librarian"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: status(database_url) is not None), "no heartbeat"
        arrive(storage["inbox"], "new/IMG_5.JPG", seed=5)  # arrives after start: watchdog
        lib = storage["storage"] / "Library/2024/2024-01-31/IMG_5.JPG"
        assert wait_for(lib.exists), "the watched file was not filed"
        assert wait_for(lambda: (status(database_url) or ("", "", {}))[2].get("files_ingested") == 1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    st, message, _ = status(database_url)
    assert st == "stopping"


def test_a_second_librarian_waits_as_standby(pf_env, storage, database_url):
    env = {**pf_env, "PF_LIBRARIAN_HEARTBEAT_SECONDS": "1"}
    first = subprocess.Popen([CLI, "librarian"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: status(database_url) is not None and status(database_url)[0] == "ok")
        second = subprocess.run([CLI, "librarian", "--once"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0
        arrive(storage["inbox"], "IMG_6.JPG", seed=6)
        assert wait_for((storage["storage"] / "Library/2024/2024-01-31/IMG_6.JPG").exists)
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)


def test_a_bad_setting_names_the_variable(pf_env):
    env = {**pf_env, "PF_STABILITY_SECONDS": "soon"}
    proc = subprocess.run([CLI, "librarian", "--once"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "PF_STABILITY_SECONDS" in proc.stderr
