"""kill -9 in the middle of a group: every invariant (groups whole included) holds after the
restart, and the group is complete. The real CLI with one call made fatal (tests/support/faults.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversity.filing_support import run_librarian, tmpfs
from tests.adversity.test_groups import groups_of, pair
from tests.support import faults, invariants


@pytest.mark.parametrize("fault", [
    "librarian.organize:place|after|1",                            # first member moved, nothing recorded
    "librarian.group_store:link|after|1",                          # all moved, recorded, not committed
    "librarian.organize:copy_verified|after|2",                    # across devices, second member copied
])
def test_kill_9_in_the_middle_of_a_group_leaves_every_invariant_true(
        fault: str, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    with tmpfs(tmp_path / "xdev") as mnt:
        env = pf_env
        if "copy_verified" in fault:
            inbox = mnt / "inbox"
            env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
        originals = pair(inbox, b"DCIM/IMG_6.HEIC", b"DCIM/IMG_6.MOV", 16, content_id="KILL-1")
        originals |= pair(inbox, b"DCIM/IMG_7.JPG", b"DCIM/IMG_7.MOV", 17)
        log = tmp_path / "crash.log"
        with open(log, "ab") as out:
            rc = subprocess.run([sys.executable, "-c", faults.PATCHED_CLI, "librarian", "--once"],
                                env={**env, "PF_TEST_CRASH": fault, "PF_STABILITY_SECONDS": "0.05"},
                                stdout=out, stderr=subprocess.STDOUT, timeout=180).returncode
        assert rc == 137, f"the fault {fault} was never reached (exit {rc}):\n{log.read_text()[-3000:]}"
        assert run_librarian(env, tmp_path / "librarian.log") == 0, (tmp_path / "librarian.log").read_text()[-4000:]
        assert sorted(groups_of(database_url)) == [[("IMG_6.HEIC", "still"), ("IMG_6.MOV", "video")],
                                                   [("IMG_7.JPG", "still"), ("IMG_7.MOV", "video")]]
        invariants.check(database_url, inbox, storage["storage"], originals)
