"""A librarian killed with SIGKILL leaves no ExifTool behind.

In ``-stay_open`` mode ExifTool does not exit at the end of its standard input: it waits for more,
polling, forever. The ExifTool the CLI starts ahead (librarian/early.py) once outlived a killed
librarian that way (twenty of them, each polling, after one test run); every ExifTool the
librarian starts now carries the kernel's parent-death signal."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.adversity.filing_support import PHOTO_FACTORY, run_librarian
from tests.e2e.conftest import wait_until
from tests.support import invariants
from tests.support.deploy_samples import make_album


def _exiftools_marked(mark: str) -> list[int]:
    """Processes running ExifTool whose environment carries ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"exiftool" in (entry / "cmdline").read_bytes() and mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_a_librarian_killed_with_sigkill_leaves_no_exiftool_running(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    samples = make_album(storage["inbox"], 6)
    originals = {hashlib.sha256(s.path.read_bytes()).hexdigest() for s in samples}
    mark = f"PF_TEST_ORPHAN_MARK={uuid.uuid4().hex}"
    env = {**pf_env, mark.split("=")[0]: mark.split("=")[1], "PF_STABILITY_SECONDS": "0.05"}
    with open(tmp_path / "librarian.log", "ab") as log:
        proc = subprocess.Popen([str(PHOTO_FACTORY), "librarian"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # the one started ahead by the CLI's prelude, and the reader's own
        wait_until("the librarian's ExifTool", lambda: _exiftools_marked(mark), limit_s=60, every_s=0.1)
        time.sleep(0.5)  # let it be adopted and busy (or idle): either way it must not outlive the kill
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    try:
        wait_until("no ExifTool left", lambda: not _exiftools_marked(mark), limit_s=30, every_s=0.2,
                   on_timeout=lambda: f"still running: {_exiftools_marked(mark)}")
    finally:
        for pid in _exiftools_marked(mark):  # a failing run leaves none behind either
            os.kill(pid, signal.SIGKILL)
    assert run_librarian(pf_env, tmp_path / "librarian.log") == 0, (tmp_path / "librarian.log").read_text()[-3000:]
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)
