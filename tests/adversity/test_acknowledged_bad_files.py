"""Permanently bad files, end to end: the real librarian quarantines them, the owner acknowledges
one and deletes another; the verdict follows, and the promise holds (a deleted quarantined file is
the one content allowed to be gone, because an operator said so and it is recorded)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from photo_factory.operator import OperatorStore
from tests.support import invariants
from tests.support.monitoring_samples import fetch, seed_heartbeat

CLI = str(Path(sys.executable).with_name("photo-factory"))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def bad(path: Path, seed: int) -> str:
    """A 'photo' that is a JPEG header and noise: undecodable for good."""
    data = b"\xff\xd8\xff\xe0" + hashlib.sha256(str(seed).encode()).digest() * 64
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_acknowledged_and_deleted_bad_files_leave_a_green_verdict_and_the_promise_intact(pf_env, storage,
                                                                                        database_url):
    inbox = storage["inbox"]
    first = bad(inbox / "IMG_0001.JPG", 1)
    assert cli(pf_env, "librarian", "--once").returncode == 0
    seed_heartbeat(database_url, "librarian", "ok")
    report = json.loads(cli(pf_env, "status", "--json").stdout)
    assert report["quarantined"] == 1 and report["verdict"] == "warning"
    assert cli(pf_env, "acknowledge", "quarantine", "--all").returncode == 0
    report = json.loads(cli(pf_env, "status", "--json").stdout)
    assert (report["quarantined"], report["acknowledged"], report["verdict"]) == (0, 1, "ok"), report

    second = bad(inbox / "IMG_0002.JPG", 2)  # a new bad file after the acknowledgement
    assert cli(pf_env, "librarian", "--once").returncode == 0
    seed_heartbeat(database_url, "librarian", "ok")  # as if the service ran beside the --once
    report = json.loads(cli(pf_env, "status", "--json").stdout)
    assert (report["quarantined"], report["verdict"]) == (1, "warning")

    [row] = fetch(database_url, "SELECT id FROM quarantine WHERE acknowledged_at IS NULL")
    ops = OperatorStore(database_url)
    assert ops.delete_quarantined([row["id"]], storage["storage"], "dashboard") == [row["id"]]
    ops.close()
    report = json.loads(cli(pf_env, "status", "--json").stdout)
    assert report["verdict"] == "ok", report
    invariants.check(database_url, inbox, storage["storage"], {first, second})
