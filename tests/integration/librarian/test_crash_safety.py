"""Crash safety: ``kill -9`` the librarian at random moments of an ingest, restart it, lose nothing.

Each trial copies the same small set of real files into a fresh inbox (photos on several days,
a video, an exact duplicate, a name collision and a broken JPEG for the quarantine), then starts
``photo-factory librarian --once`` and kills its whole process group with SIGKILL after a random
delay (from its start, or from its first filed file so most kills land among the moves of
the batch), three times, and finally lets it run to the end. The invariants afterwards:

* every original's content (SHA-256) is in exactly one place: the library or the quarantine;
* every library file has exactly one ``media_assets`` row with its size and hash, every row its file;
* every quarantined file has its row, every open quarantine row its file;
* the inbox holds nothing but ignored names, the journal is empty, no ``.pf-tmp-`` file is left.

Half the trials keep the inbox on another filesystem (``/dev/shm``) so the copy, verify, rename,
delete path is killed too. The RNG is seeded: a failing trial replays with the same kill delays.

Random delays rarely hit the narrowest windows, so a second set of cases crashes the process
(``os._exit``, as abrupt as SIGKILL) exactly before or after the n-th call of a step of the move
protocol — journal write, fsync, copy, rename, the database record — and then restarts it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import faults, invariants, samples

pytestmark = pytest.mark.integration

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")
TRIALS = 6
KILLS_PER_TRIAL = 3
SHM = Path("/dev/shm")


# -- the files of every trial ---------------------------------------------------------------
@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set of real files (made once), copied into each trial's inbox."""
    root = tmp_path_factory.mktemp("crash-originals")
    big = (1400, 1050)  # ~1 MB each: copies and hashes take long enough to be interrupted
    samples.photo(root / "DCIM/IMG_0001.JPG", "2024:03:01 09:00:00", size=big, seed=1)
    samples.photo(root / "DCIM/IMG_0002.JPG", "2024:03:02 10:00:00", size=big, seed=2)
    samples.photo(root / "DCIM/IMG_0003.JPG", "2024:03:02 11:00:00", size=big, seed=3)
    samples.photo(root / "Camera/IMG_0001.JPG", "2024:03:01 09:30:00", seed=4)  # name collision
    samples.photo(root / "Camera/PXL_20240305_120000.jpg", None, seed=5)  # date from the name
    samples.video(root / "Camera/VID_0001.mp4", "2024-03-06T08:00:00Z")
    (root / "Backup").mkdir()
    shutil.copyfile(root / "DCIM/IMG_0002.JPG", root / "Backup/IMG_0002 (copy).JPG")  # duplicate
    samples.truncated(root / "DCIM/IMG_0003.JPG", root / "DCIM/broken.jpg", keep=0.4)
    (root / ".stfolder").mkdir()
    return root


def _copy_tree(src: Path, dest: Path) -> None:
    for path in sorted(src.rglob("*")):
        target = dest / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@pytest.fixture
def other_fs_inbox(tmp_path: Path) -> Iterator[Path]:
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem: /dev/shm is missing or on the same device as the storage")
    path = SHM / f"pf-crash-{uuid.uuid4().hex[:10]}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- running and killing the librarian ----------------------------------------------------------
def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([str(PHOTO_FACTORY), "librarian", "--once"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_line(proc: subprocess.Popen, log: Path, offset: int, text: bytes) -> bool:
    """Wait until the process wrote ``text`` to its log (after ``offset``) or exited."""
    while proc.poll() is None:
        with open(log, "rb") as f:
            f.seek(offset)
            if text in f.read():
                return True
        time.sleep(0.005)
    return False


def _kill_after(env: dict[str, str], log: Path, delay: float, from_ingest: bool) -> None:
    """Start the librarian and SIGKILL its process group (ExifTool too) ``delay`` seconds after
    its start, or after it filed its first file of the run (``from_ingest``: the batch is then
    being moved, so the kill lands among journal writes, copies, renames and commits)."""
    offset = log.stat().st_size if log.exists() else 0
    proc = _start(env, log)
    if from_ingest and not _wait_for_line(proc, log, offset, b"librarian.ingest:"):
        return  # it finished before ingesting anything: nothing left to interrupt
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with open(log, "a") as out:
            out.write(f"\n---- killed -9 {delay:.3f}s after {'first file' if from_ingest else 'start'} ----\n")


def _crash_at(env: dict[str, str], log: Path, fault: str) -> None:
    with open(log, "ab") as out:
        out.write(f"\n---- crashing at {fault} ----\n".encode())
        rc = subprocess.run([sys.executable, "-c", faults.PATCHED_CLI, "librarian", "--once"],
                            env={**env, "PF_TEST_CRASH": fault}, stdout=out, stderr=subprocess.STDOUT,
                            timeout=120).returncode
    assert rc == 137, f"the fault {fault} was never reached (exit {rc}):\n{log.read_text()[-3000:]}"


def _finish(env: dict[str, str], log: Path) -> None:
    proc = _start(env, log)
    try:
        rc = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert rc == 0, log.read_text()[-4000:]


# -- the trials -------------------------------------------------------------------------------
@pytest.mark.parametrize("trial", range(TRIALS), ids=lambda t: f"trial{t}-{'other-fs' if t % 2 else 'same-fs'}")
def test_killing_the_librarian_at_random_moments_never_loses_or_duplicates_a_file(
    trial: int, request: pytest.FixtureRequest, originals: Path, pf_env: dict[str, str],
    database_url: str, storage: dict[str, Path], tmp_path: Path,
) -> None:
    inbox = request.getfixturevalue("other_fs_inbox") if trial % 2 else storage["inbox"]
    env = {**pf_env, "PF_INBOX_DIR": str(inbox), "PF_STABILITY_SECONDS": "0.05",
           "PF_HEARTBEAT_SECONDS": "1"}
    _copy_tree(originals, inbox)
    contents = invariants.contents(invariants.files(originals))
    rng = random.Random(8_000 + trial)
    log = tmp_path / "librarian.log"
    for _ in range(KILLS_PER_TRIAL):
        from_ingest = rng.random() < 0.7
        _kill_after(env, log, rng.uniform(0.0, 0.15 if from_ingest else 1.2), from_ingest)
    _finish(env, log)
    invariants.check(database_url, inbox, storage["storage"], contents)


_STORE = "librarian.store:LibrarianStore."
_ORG = "librarian.organize:"
FAULTS = [  # (crash points in successive runs, inbox on another filesystem)
    ([_STORE + "journal_add_many|after|1"], False),  # same-fs moves are journaled per batch
    ([_ORG + "sha256_synced|after|2"], False),  # sources are synced as they are hashed
    ([_ORG + "place|after|3"], False),
    ([_STORE + "record_assets|before|1", _STORE + "record_assets|before|1"], False),  # 2nd: in reconcile
    ([_ORG + "fsync_dir|before|1"], False),  # moved, folders not yet synced, nothing recorded
    ([_STORE + "record_quarantine|before|1"], False),
    ([_ORG + "copy_verified|after|1"], True),
    ([_ORG + "place|before|2"], True),
    ([_ORG + "place|after|2", _STORE + "record_asset|after|1"], True),  # the second crash is in reconcile
    ([_STORE + "record_asset|before|3"], True),
    ([_STORE + "record_quarantine|before|1"], True),
    ([_STORE + "record_quarantine|after|1"], True),
    ([_STORE + "record_event|before|1"], True),  # the duplicate's removal
]


@pytest.mark.parametrize(("faults", "other_fs"), FAULTS,
                         ids=[f"{'+'.join(f.split(':')[-1] for f in fs)}-{'other-fs' if o else 'same-fs'}"
                              for fs, o in FAULTS])
def test_a_crash_at_any_step_of_the_move_protocol_is_finished_by_the_restart(
    faults: list[str], other_fs: bool, request: pytest.FixtureRequest, originals: Path,
    pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path,
) -> None:
    inbox = request.getfixturevalue("other_fs_inbox") if other_fs else storage["inbox"]
    env = {**pf_env, "PF_INBOX_DIR": str(inbox), "PF_STABILITY_SECONDS": "0.05"}
    _copy_tree(originals, inbox)
    contents = invariants.contents(invariants.files(originals))
    log = tmp_path / "librarian.log"
    for fault in faults:
        _crash_at(env, log, fault)
    _finish(env, log)
    invariants.check(database_url, inbox, storage["storage"], contents)
