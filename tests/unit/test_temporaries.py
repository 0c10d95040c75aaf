"""Temporaries of atomic writes: a killed writer's leftovers are swept, a live writer's are not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from photo_factory.files import TMP_PREFIX, sweep_temporaries, write_atomically


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_writers_temporary_goes_and_a_live_writers_stays(tmp_path: Path) -> None:
    host = socket.gethostname()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f"{TMP_PREFIX}{host}-{_dead_pid()}-abc_1234",
            "previous-life": f"{TMP_PREFIX}{host}-{os.getpid()}-abcd1234",  # a restarted container's pid
            "live": f"{TMP_PREFIX}{host}-{live.pid}-abcd1234",
            "other-host": f"{TMP_PREFIX}elsewhere-1-abcd1234",
            "old-other-host": f"{TMP_PREFIX}elsewhere-2-abcd1234",
            "not-ours": "IMG_0001.JPG.jpg",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"x")
        old = time.time() - 7200
        os.utime(tmp_path / names["old-other-host"], (old, old))
        assert sweep_temporaries(tmp_path, max_age_s=3600) == 3
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {names["live"], names["other-host"], names["not-ours"]}
    finally:
        live.kill()
        live.wait()


def test_an_atomic_write_leaves_nothing_in_its_temporary_folder(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a" / "b.jpg", b"data", tmp_dir=tmp_path / ".tmp")
    assert (tmp_path / "a" / "b.jpg").read_bytes() == b"data"
    assert list((tmp_path / ".tmp").iterdir()) == []
    assert sweep_temporaries(tmp_path / "missing", 1.0) == 0
