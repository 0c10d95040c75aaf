"""A tool that dies or stalls never wedges a service (issue 10, finding 3).

One ``kill -9`` of an ExifTool child used to leave the librarian filing nothing, two reader
threads spinning at 100 % CPU, the heartbeat saying ok and SIGTERM ignored. Here ExifTool children
of a real librarian are killed and stopped (SIGSTOP) mid-batch, a stalled ffmpeg is given to the
thumbnail worker, and each time: every file is filed, the heartbeat is not ``ok`` while the
service is stuck, SIGTERM ends it within its grace period, and no tool process is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest

from tests.adversity.test_hostile_names import jpeg
from tests.support import invariants, samples
from tests.support.procs import alive

CLI = str(Path(sys.executable).with_name("photo-factory"))
#: docker-compose.yml gives the librarian stop_grace_period: 1m; we ask for well under it.
GRACE_S = 30.0


def wait_for(pred: Callable[[], object], timeout: float = 180.0, step: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return None


def children(pid: int, name: str) -> list[int]:
    """Pids of the direct children of ``pid`` called ``name`` (like ``pgrep -P pid name``)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and comm == name and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def heartbeat(database_url: str, service: str = "librarian") -> tuple[str, str] | None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, message FROM system_status WHERE service = %s", (service,))
        row = cur.fetchone()
    conn.close()
    return row


def fill_inbox(inbox: Path, n: int, seed: int = 0) -> set[str]:
    (inbox / "DCIM").mkdir(exist_ok=True)
    return {jpeg(inbox / f"DCIM/IMG_{seed + i:04d}.jpg", seed + i) for i in range(n)}


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([CLI, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stops_cleanly(proc: subprocess.Popen, log: Path) -> None:
    """SIGTERM ends ``proc`` within the grace period, with exit status 0."""
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"SIGTERM did not stop the librarian within {GRACE_S:.0f}s:\n{log.read_text()[-3000:]}")
    assert rc == 0, log.read_text()[-3000:]


def finish(proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the process did not finish within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def env(pf_env: dict[str, str]) -> dict[str, str]:
    return {**pf_env, "PF_STABILITY_SECONDS": "0.2", "PF_LIBRARIAN_HEARTBEAT_SECONDS": "0.5",
            "PF_EXIFTOOL_BATCH": "200", "PF_EXIFTOOL_TIMEOUT_SECONDS": "10"}


def test_exiftool_killed_mid_batch_is_restarted_and_every_file_is_filed(env, storage, database_url, tmp_path):
    originals = fill_inbox(storage["inbox"], 80)
    log = tmp_path / "librarian.log"
    proc = start(env, log, "librarian", "--once")
    killed: set[int] = set()
    try:
        for _ in range(3):  # kill -9 three ExifTool processes in turn, whatever call they are in
            pid = wait_for(lambda: [p for p in children(proc.pid, "exiftool") if p not in killed]
                           or proc.poll() is not None, timeout=120)
            if not isinstance(pid, list):
                break
            # the first at once: the one started ahead reads all 80 files within ~0.3 s here (its
            # answers, already in its pipe, would still be used: nothing to restart)
            time.sleep(0.3 if killed else 0.0)
            with contextlib.suppress(ProcessLookupError):  # it may have finished its work and gone
                os.kill(pid[0], signal.SIGKILL)
            killed.add(pid[0])
        assert killed, "no ExifTool child was ever seen"
        assert finish(proc, log) == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "restarting it" in log.read_text() or "died" in log.read_text()
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_a_stalled_exiftool_is_killed_and_restarted_and_the_heartbeat_says_stuck_meanwhile(
        env, storage, database_url, tmp_path):
    originals = fill_inbox(storage["inbox"], 40)
    log = tmp_path / "librarian.log"
    proc = start({**env, "PF_STUCK_SECONDS": "2"}, log, "librarian", "--once")
    stopped = None
    try:
        found = wait_for(lambda: children(proc.pid, "exiftool") or proc.poll() is not None, timeout=120)
        assert isinstance(found, list), "no ExifTool child was ever seen"
        stopped = found[0]
        os.kill(stopped, signal.SIGSTOP)
        stuck = wait_for(lambda: (h := heartbeat(database_url)) and h[0] != "ok" and "stuck" in h[1] and h,
                         timeout=60)
        assert stuck, f"the heartbeat never said stuck: {heartbeat(database_url)}"
        assert alive(stopped), "the stalled ExifTool was killed before the heartbeat said stuck"
        assert finish(proc, log) == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if stopped is not None and alive(stopped):
            os.kill(stopped, signal.SIGKILL)
    assert not alive(stopped), "the stalled ExifTool was left behind"
    assert "tool_timeout" in log.read_text()
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_sigterm_during_a_stalled_exiftool_stops_the_librarian_within_its_grace_period(
        env, storage, database_url, tmp_path):
    originals = fill_inbox(storage["inbox"], 20)
    log = tmp_path / "librarian.log"
    # a tool timeout far beyond the grace period: only the stop request can end the call
    proc = start({**env, "PF_EXIFTOOL_TIMEOUT_SECONDS": "3600"}, log, "librarian")
    stopped = None
    try:
        found = wait_for(lambda: children(proc.pid, "exiftool") or proc.poll() is not None, timeout=120)
        assert isinstance(found, list), "no ExifTool child was ever seen"
        stopped = found[0]
        os.kill(stopped, signal.SIGSTOP)
        # the ExifTool is started before the librarian's imports (librarian/early.py): wait until
        # the service runs (its heartbeat follows its signal handlers), then let it block on it
        assert wait_for(lambda: heartbeat(database_url) or proc.poll() is not None, timeout=120)
        time.sleep(1.0)
        stops_cleanly(proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if stopped is not None and alive(stopped):
            os.kill(stopped, signal.SIGCONT)
            os.kill(stopped, signal.SIGKILL)
    assert wait_for(lambda: not alive(stopped), timeout=10), "the stalled ExifTool outlived the librarian"
    proc = start(env, log, "librarian", "--once")  # the next start files what was left
    assert finish(proc, log) == 0, log.read_text()[-3000:]
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_a_stalled_ffmpeg_fails_the_poster_with_a_typed_reason_and_leaves_no_process(
        pf_env, storage, database_url, tmp_path):
    video = samples.video(storage["inbox"] / "VID_0001.mp4")
    originals = {invariants.sha256(video)}
    assert subprocess.run([CLI, "librarian", "--once"], env=pf_env, capture_output=True, timeout=300).returncode == 0
    pids = tmp_path / "ffmpeg.pids"
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    # a stalled ffmpeg whose own child keeps the pipes open: killing only the direct child is not enough
    fake.write_text(f"#!/bin/sh\necho $$ >> '{pids}'\nsleep 3600 &\necho $! >> '{pids}'\nwait\n")
    fake.chmod(0o755)
    env = {**pf_env, "PF_THUMBNAIL_FFMPEG": str(fake), "PF_THUMBNAIL_TOOL_TIMEOUT_SECONDS": "2"}
    log = tmp_path / "thumbnails.log"
    proc = start(env, log, "thumbnails", "--once")
    assert finish(proc, log, timeout=120) == 0, log.read_text()[-3000:]
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, reason_code FROM stage_jobs WHERE stage = 'thumbnails'")
        jobs = cur.fetchall()
    conn.close()
    assert jobs == [("pending", "tool_timeout")], jobs
    left = [int(p) for p in pids.read_text().split()]
    assert left and wait_for(lambda: not any(alive(p) for p in left), timeout=10), \
        f"tool processes left running: {[p for p in left if alive(p)]}"
    for p in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_sigterm_while_the_librarian_is_still_starting_stops_it_cleanly(env, storage, database_url, tmp_path):
    """``docker compose stop`` right after ``up``: the signal comes while Python still imports the
    service (its ExifTool, started first, is the sign). It used to end the process by the signal
    (exit -15 here, 143 in Docker); now the service takes it over and stops with 0."""
    originals = fill_inbox(storage["inbox"], 20)
    log = tmp_path / "librarian.log"
    proc = start(env, log, "librarian")
    try:
        found = wait_for(lambda: children(proc.pid, "exiftool") or proc.poll() is not None, timeout=120, step=0.002)
        assert isinstance(found, list), "no ExifTool child was ever seen"
        stops_cleanly(proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert wait_for(lambda: not any(alive(p) for p in found), timeout=10), "its ExifTool was left behind"
    proc = start(env, log, "librarian", "--once")  # the next start files what was left
    assert finish(proc, log) == 0, log.read_text()[-3000:]
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)
