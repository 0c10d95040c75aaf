"""Every rclone call the backup makes leaves nothing behind, even when the service is killed -9
in the middle of it: a file list (``--files-from-raw``) reaches rclone on its stdin, never as a
temporary file, which only the caller's ``finally`` removed — a kill -9 (or the OOM killer)
during a long ``hashsum --download`` or ``cryptcheck`` left one list in /tmp per call.

Each rclone runs through a shim that writes what the temporary folder holds while it runs; the
upload, the slow proofs and the read-back are all exercised, and a kill -9 mid-call is real."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from processor.backup import rclone
from tests.support import backup_samples as bs


def spy_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, pause: float = 0.0) -> tuple[Path, Path]:
    """A private temporary folder for this process and its children, and an rclone shim that
    logs, at each start, the arguments and what that folder holds (then waits ``pause`` s)."""
    scratch, log, shims = tmp_path / "tmp", tmp_path / "seen.log", tmp_path / "shims"
    scratch.mkdir()
    shims.mkdir()
    real = shutil.which("rclone")
    assert real
    shim = shims / "rclone"
    shim.write_text(
        "#!/bin/sh\n"
        f"echo \"$1: $(ls -A '{scratch}' | tr '\\n' ' ')\" >> '{log}'\n"
        f"sleep {pause}\n"
        f"exec '{real}' \"$@\"\n"
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    log.touch()
    return scratch, log


def odd_names(root: Path) -> list[str]:
    """Three originals whose names rclone's list must carry as they are (``#``, spaces)."""
    paths = []
    for n in range(3):
        rel = f"Library/2024/2024-01-0{n + 1}/#{n} odd name.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(bs.sample_bytes(n))
        paths.append(rel)
    return paths


def test_no_rclone_call_puts_a_list_in_the_temporary_folder(tmp_path, storage, remote, monkeypatch):
    scratch, log = spy_tmp(tmp_path, monkeypatch)
    root = storage["storage"]
    paths = odd_names(root)
    tool = rclone.Rclone()
    src = rclone.local_root(root)

    up = tool.upload(src, "secret:", paths, backup_dir="secret:Attic")
    assert up.failure is None and up.verified == set(paths)
    bad, by_hash = tool.compare(src, "secret:", paths, crypt=True)
    assert bad == [] and by_hash
    sums = tool.sha256sums("secret:", paths)
    assert sums == {p: hashlib.sha256((root / p).read_bytes()).hexdigest() for p in paths}
    tool.copy_files(src, "plain:" + str(tmp_path / "plain-copy"), paths)
    assert sorted(str(p.relative_to(tmp_path / "plain-copy")) for p in (tmp_path / "plain-copy").rglob("*.jpg")) \
        == sorted(paths)

    calls = log.read_text().splitlines()
    assert [c.split(":")[0] for c in calls] == ["copy", "cryptcheck", "hashsum", "copy"]
    assert all(c.split(":", 1)[1].strip() == "" for c in calls), calls  # nothing there while it ran
    assert list(scratch.iterdir()) == []


_READ_BACK = """
import sys
from processor.backup import rclone
print(rclone.Rclone().sha256sums("secret:", sys.argv[1:]), flush=True)
"""


def test_a_kill_9_during_a_read_back_leaves_nothing_behind(tmp_path, storage, remote, monkeypatch):
    scratch, log = spy_tmp(tmp_path, monkeypatch, pause=30)
    root = storage["storage"]
    rel = "Library/2024/2024-01-01/IMG_0001.JPG"
    (root / rel).parent.mkdir(parents=True)
    (root / rel).write_bytes(bs.sample_bytes(1))
    proc = subprocess.Popen([sys.executable, "-c", _READ_BACK, rel], env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 60
    while not log.read_text() and time.monotonic() < deadline:  # rclone (its shim) is running
        time.sleep(0.05)
    assert log.read_text().startswith("hashsum:")
    os.killpg(proc.pid, signal.SIGKILL)  # the service and its rclone, as the OOM killer or kill -9 would
    proc.wait(timeout=30)
    assert list(scratch.iterdir()) == []


def test_the_upload_daemons_list_is_in_memory_only(tmp_path, storage, remote, monkeypatch):
    """The long-lived ``rclone rcd`` (ADR-062) reads each job's list from a memfd of ours, through
    /proc: nothing in the temporary folder, and no ``rclone copy`` started."""
    from processor.backup import rcd

    scratch, log = spy_tmp(tmp_path, monkeypatch)
    root = storage["storage"]
    paths = odd_names(root)
    daemon = rcd.Daemon(prepare=("secret:",))
    try:
        up = rclone.Rclone(daemon=daemon).upload(rclone.local_root(root), "secret:", paths, backup_dir="secret:Attic")
    finally:
        daemon.close()
    assert up.failure is None and up.verified == set(paths)
    assert [c.split(":")[0] for c in log.read_text().splitlines()] == ["rcd"]
    assert list(scratch.iterdir()) == []


_DAEMON = """
import sys, time
from processor.backup import rcd
d = rcd.Daemon(prepare=("secret:",))
assert d.ready(), d.broken
print(d.group, flush=True)
time.sleep(600)
"""


def test_a_kill_9_of_the_service_takes_its_rclone_daemon_with_it(tmp_path, remote):
    """The daemon is not our process group's (tools run in sessions of their own), so a kill -9
    of the service alone must still end it: a daemon left behind would hold a port, the crypt
    keys in memory and the remote open, with no owner."""
    from tests.support.procs import gone

    proc = subprocess.Popen([sys.executable, "-c", _DAEMON], env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        group = int(proc.stdout.readline())
        members = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _pgrp(p) == group]
        assert len(members) >= 2  # sh, rclone rcd and its watcher
        proc.kill()  # SIGKILL: no finally, no atexit
        proc.wait(timeout=30)
        assert all(gone(pid, timeout=10) for pid in members), "rclone rcd outlived the service"
    finally:
        if proc.poll() is None:
            proc.kill()


def _pgrp(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return -1
