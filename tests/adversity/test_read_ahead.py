"""Reading ahead during the quiet period (librarian/speculate.py) must never file what it read from
a file that changed afterwards: a file appended to during or after its read ahead, or rewritten in
place with the same size and its old mtime put back (as Syncthing keeps mtimes), is filed with its
final bytes, hash and tags.

The librarian runs in this process (real ExifTool, real PostgreSQL) with the read ahead's hashing
wrapped, so the test knows when a file was read ahead and can change it at that very moment.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from librarian import organize, speculate
from librarian.service import Librarian
from librarian.settings import LibrarianSettings
from photo_factory import loop, settings
from tests.support import invariants, samples
from tests.support.thumbnail_samples import query


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A librarian in a thread, its read ahead's hashing calling ``on_hash(path)`` after each read."""

    def __init__(self, quiet: float):
        core = settings.load(settings.CoreSettings)
        self.lib = Librarian(core, settings.load(LibrarianSettings, stability_seconds=quiet, poll_seconds=0.2))
        self.hashed = threading.Event()
        self.reads: list[Path] = []  # the files read ahead, in order
        self.on_hash: Callable[[Path], None] = lambda _p: None

        def hash_file(path: Path) -> tuple[str, int, bool]:
            got = organize.sha256_synced(path)
            self.on_hash(path)  # the file changes now: after the read, before the read is judged
            self.reads.append(path)
            self.hashed.set()
            return got

        self.lib.speculation = self.lib.ingestor.speculation = speculate.Speculation(self.lib.reader,
                                                                                    hash_file=hash_file)
        self.lib.start()
        self.thread = threading.Thread(target=loop.run, args=(self.lib.work_once,),
                                       kwargs={"stopper": self.lib.stopper, "heartbeat": None, "idle_seconds": 0.2})
        self.thread.start()

    def stop(self) -> None:
        self.lib.stopper.stop.set()
        self.lib.stopper.wake.set()
        self.thread.join(60)
        self.lib.close()


@pytest.fixture
def running(pf_env: dict[str, str]) -> Iterator[Callable[[float], Running]]:
    started: list[Running] = []

    def start(quiet: float) -> Running:
        started.append(Running(quiet))
        return started[-1]

    yield start
    for r in started:
        r.stop()


def _filed(database_url: str) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in query(database_url, "SELECT original_name, sha256, library_path FROM media_assets")]


@pytest.mark.parametrize("when", ["during", "after"])
def test_a_file_appended_to_during_or_after_its_read_ahead_is_filed_whole(running, storage, database_url,
                                                                          tmp_path, when):
    data = samples.photo(tmp_path / "whole.jpg", size=(640, 480), seed=7).read_bytes()
    half = len(data) // 2
    target = storage["inbox"] / "IMG_0001.JPG"
    r = running(1.5)

    def append(path: Path) -> None:
        if path == target and when == "during" and not r.hashed.is_set():  # the writer goes on, once
            with open(path, "ab") as f:
                f.write(data[half:])

    r.on_hash = append
    target.write_bytes(data[:half])  # a writer that pauses, half-way
    assert r.hashed.wait(60), "the half-written file was never read ahead"
    if when == "after":
        with open(target, "ab") as f:
            f.write(data[half:])
    _wait(lambda: _filed(database_url), 120, "the file to be filed")
    [(name, sha, library_path)] = _filed(database_url)
    assert sha == _sha(data), "filed with the hash read ahead from the half-written file"
    assert (storage["storage"] / library_path).read_bytes() == data
    assert r.lib.speculation.dropped >= 1, "the stale read ahead was not the one dropped"
    # a file that changed after its read ahead is being written: never read ahead again (read
    # when filed), however often its writer pauses
    assert r.reads == [target]
    invariants.check(database_url, storage["inbox"], storage["storage"], {_sha(data)})


def test_a_file_rewritten_in_place_with_its_old_size_and_mtime_is_read_again(running, storage, database_url,
                                                                             tmp_path):
    first = samples.photo(tmp_path / "a.jpg", "2024:01:31 23:59:59", size=(640, 480), seed=8).read_bytes()
    # the same photo saying another year: the same size, other bytes, another capture date
    second = first.replace(b"2024:01:31 23:59:59", b"2021:05:04 10:00:00")
    assert len(second) == len(first) and second != first
    target = storage["inbox"] / "IMG_0002.JPG"
    r = running(2.0)
    read = threading.Event()
    r.on_hash = lambda path: read.set() if path == target else None
    target.write_bytes(first)
    old = os.stat(target)
    assert read.wait(60), "the file was never read ahead"
    # both reads ahead (ExifTool's too) are in before the file changes
    _wait(lambda: r.lib.speculation.finished(target), 60, "the read ahead to finish")
    with open(target, "r+b") as f:  # rewritten in place (same inode, same size) ...
        f.write(second)
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))  # ... and the old mtime put back
    now = os.stat(target)
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (old.st_ino, old.st_size, old.st_mtime_ns)
    _wait(lambda: _filed(database_url), 120, "the file to be filed")
    [(name, sha, library_path)] = _filed(database_url)
    assert sha == _sha(second), "filed with the hash read ahead from the content it had before"
    assert library_path.startswith("Library/2021/2021-05-04/"), f"dated by the tags read ahead: {library_path}"
    assert r.lib.speculation.dropped >= 1
    invariants.check(database_url, storage["inbox"], storage["storage"], {_sha(second)})


def test_an_unchanged_burst_is_filed_from_its_read_ahead(running, storage, database_url, tmp_path):
    """The positive side: files that did not change are filed from what was read ahead (no
    second ExifTool read, no second hash), with the right hashes."""
    staged = tmp_path / "staged"
    staged.mkdir()
    shas = set()
    for i in range(12):
        shas.add(_sha(samples.photo(staged / f"IMG_{i:04d}.JPG", size=(320, 240), seed=20 + i).read_bytes()))
    r = running(1.0)
    time.sleep(speculate.SETTLED_S)  # the copies are older than a settled file must be
    os.rename(staged, storage["inbox"] / "burst")  # arrives at once, as a synced folder does
    _wait(lambda: len(_filed(database_url)) == 12, 120, "the burst to be filed")
    assert {sha for _, sha, _ in _filed(database_url)} == shas
    # (late: its read had not started when the burst was filed, so it was read then: a loaded box)
    assert r.lib.speculation.used + r.lib.speculation.late == 12 and r.lib.speculation.dropped == 0
    invariants.check(database_url, storage["inbox"], storage["storage"], shas)
