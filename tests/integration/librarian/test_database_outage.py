"""Database outage: the librarian talks to PostgreSQL through a loopback TCP proxy that the test
cuts (open connections closed, new ones refused) and restores.

While the database is gone, files wait untouched in the inbox and the daemon keeps running;
when it returns, they are filed and nothing is left half-done.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import samples
from tests.support.db import tuples as _query
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")




def _eventually(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for a condition (a safety limit, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with TcpProxy.for_url(database_url) as p:
        yield p


@pytest.fixture
def daemon(pf_env: dict[str, str], proxy: TcpProxy, database_url: str, tmp_path: Path
           ) -> Iterator[tuple[subprocess.Popen, Path]]:
    """``photo-factory librarian`` (not --once) connected through the proxy; stopped with SIGTERM."""
    log = tmp_path / "librarian.log"
    env = {**pf_env, "PF_DATABASE_URL": proxy.url(database_url), "PF_STABILITY_SECONDS": "0.3",
           "PF_RESCAN_SECONDS": "1", "PF_POLL_SECONDS": "0.2", "PF_LIBRARIAN_HEARTBEAT_SECONDS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(PHOTO_FACTORY), "librarian"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    yield proc, log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_files_wait_untouched_in_the_inbox_while_the_database_is_down_and_are_filed_when_it_returns(
    daemon: tuple[subprocess.Popen, Path], proxy: TcpProxy, database_url: str, storage: dict[str, Path],
) -> None:
    proc, log = daemon
    inbox = storage["inbox"]
    samples.photo(inbox / "before.jpg", "2024:05:01 10:00:00", seed=1)
    assets = lambda: _query(database_url, "SELECT count(*) FROM media_assets")[0][0]  # noqa: E731
    _eventually(lambda: assets() == 1, "the first photo is filed")

    proxy.cut()
    during = [samples.photo(inbox / f"during_{i}.jpg", f"2024:05:0{i + 2} 10:00:00", seed=10 + i)
              for i in range(3)]
    before = {p: (_digest(p), p.stat().st_mtime_ns) for p in during}
    _eventually(lambda: log.read_bytes().count(b"database unavailable") >= 2,
                "the librarian notices the outage and retries")

    assert proc.poll() is None, "the librarian must keep running while the database is down"
    assert {p: (_digest(p), p.stat().st_mtime_ns) for p in during} == before
    assert sorted((storage["storage"] / "Library").rglob("during_*")) == []

    proxy.restore()
    _eventually(lambda: assets() == 4, "the waiting photos are filed once the database is back")
    _eventually(lambda: not any(inbox.iterdir()), "the inbox is emptied")
    assert _query(database_url, "SELECT count(*) FROM ingest_journal")[0][0] == 0
    rows = _query(database_url, "SELECT library_path, sha256 FROM media_assets WHERE original_name LIKE 'during_%'")
    assert {sha.strip() for _, sha in rows} == {d for d, _ in before.values()}
    for rel, sha in rows:
        assert _digest(storage["storage"] / rel) == sha.strip()
    assert proc.poll() is None, "still running after the outage"

    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert b"Traceback" not in log.read_bytes()
    status = _query(database_url, "SELECT status FROM system_status WHERE service = 'librarian'")
    assert status == [("stopping",)]


def test_once_with_an_unreachable_database_exits_1_with_a_clear_message(
    pf_env: dict[str, str], database_url: str,
) -> None:
    dead = TcpProxy.for_url(database_url).start()
    url = dead.url(database_url)
    dead.cut()  # nothing listens on that port any more: connections are refused
    env = {**pf_env, "PF_DATABASE_URL": url, "PF_DB_WAIT_SECONDS": "2"}
    result = subprocess.run([str(PHOTO_FACTORY), "librarian", "--once"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "database" in output.lower()
    assert "Traceback" not in output
