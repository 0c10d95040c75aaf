"""kill -9 while a batch's filing thread is half-way through one chunk and the batch's own thread
works on the next ones (librarian/ingest.py ``_Filer``): every invariant holds after the restart.

The real CLI with one call held (the filing thread waits there: ``PF_TEST_HOLD``) and one call
made fatal (``PF_TEST_CRASH``, tests/support/faults.py). What the database holds at the crash
shows that the two threads really were at their points at the same time; then a normal run
finishes or undoes everything and the invariant checker states the promise.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversity.filing_support import jpeg_bytes, query, run_librarian, write
from tests.support import faults, invariants

#: 30 photos: four chunks of ExifTool reads, the first filed alone while the others are planned
PHOTOS = 30


def _inbox(inbox: Path) -> set[str]:
    """The photos at the top of the inbox and, in a folder (walked after the top: planned with
    the last chunk), a text file named .jpg that the batch's thread quarantines."""
    contents = {hashlib.sha256(write(inbox / f"IMG_{i:03d}.JPG", jpeg_bytes(500 + i))).hexdigest()
                for i in range(PHOTOS)}
    contents.add(hashlib.sha256(write(inbox / "zz/notes.jpg", b"not a photo at all\n" * 20)).hexdigest())
    return contents


@pytest.mark.parametrize(("hold", "crash", "at_crash"), [
    # the first filing's journal is committed, nothing linked; the quarantine is recorded meanwhile
    ("librarian.store:LibrarianStore.journal_add_many|after",
     "librarian.store:LibrarianStore.record_quarantine|after|1",
     {"file_entries": 8, "assets": 0, "quarantined": 1}),
    # the first filing's links are made, its folders not yet fsynced; the quarantine journaled,
    # its file not yet moved
    ("librarian.organize:fsync_dirs|before",
     "librarian.store:LibrarianStore.journal_add|after|1",
     {"file_entries": 8, "assets": 0, "quarantined": 0, "quarantine_entries": 1}),
    # no hold: the filing thread dies in its second filing, the other thread wherever it is
    (None, "librarian.organize:place|after|12", None),
    # no hold: the first record committed, the process dies before the next step
    (None, "librarian.store:LibrarianStore.record_assets|after|1", None),
])
def test_kill_9_while_a_chunk_is_filed_and_the_next_planned_leaves_every_invariant_true(
        hold: str | None, crash: str, at_crash: dict[str, int] | None, pf_env: dict[str, str],
        database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    originals = _inbox(inbox)
    env = {**pf_env, "PF_TEST_CRASH": crash, "PF_STABILITY_SECONDS": "0.05"}
    if hold is not None:
        env["PF_TEST_HOLD"] = hold
    log = tmp_path / "crash.log"
    with open(log, "ab") as out:
        rc = subprocess.run([sys.executable, "-c", faults.PATCHED_CLI, "librarian", "--once"], env=env,
                            stdout=out, stderr=subprocess.STDOUT, timeout=180).returncode
    assert rc == 137, f"the fault {crash} was never reached (exit {rc}):\n{log.read_text()[-3000:]}"
    if at_crash is not None:
        journal = query(database_url, "SELECT action, count(*) AS n FROM ingest_journal GROUP BY action")
        found = {
            "file_entries": sum(r["n"] for r in journal if r["action"] == "file"),
            "quarantine_entries": sum(r["n"] for r in journal if r["action"] == "quarantine"),
            "assets": query(database_url, "SELECT count(*) AS n FROM media_assets")[0]["n"],
            "quarantined": query(database_url, "SELECT count(*) AS n FROM quarantine")[0]["n"],
        }
        assert {k: found[k] for k in at_crash} == at_crash, \
            "the filing thread and the batch's thread were not at their points at the same time"
    assert run_librarian(pf_env, tmp_path / "librarian.log") == 0, (tmp_path / "librarian.log").read_text()[-4000:]
    assert query(database_url, "SELECT count(*) AS n FROM media_assets")[0]["n"] == PHOTOS
    invariants.check(database_url, inbox, storage["storage"], originals)
