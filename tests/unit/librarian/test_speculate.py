"""Reading ahead (librarian/speculate.py): what is read ahead when, and a result is handed over
only for the file it was read from."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future
from pathlib import Path

import pytest

from librarian import speculate
from librarian.metadata import MetadataReader
from tests.support import samples


@pytest.fixture
def reader():
    r = MetadataReader()
    yield r
    r.close()


def _never(_path: Path) -> Future[tuple[str, int]]:
    raise AssertionError("hashed again")


def test_a_file_written_just_now_is_read_ahead_once_it_has_settled(tmp_path, reader):
    f = samples.photo(tmp_path / "IMG_1.JPG", seed=1)
    st = os.lstat(f)
    written = max(st.st_mtime, st.st_ctime)
    spec = speculate.Speculation(reader, wall=lambda: written + 0.1)
    assert spec.start([(f, st)]) == 0  # maybe still being written
    assert spec.next_look is not None and spec.next_look <= speculate.SETTLED_S - 0.1 + 1e-6
    spec.wall = lambda: written + speculate.SETTLED_S
    assert spec.start([(f, st)]) == 1 and spec.next_look is None
    assert spec.start([(f, st)]) == 0  # read once per identity
    digest = spec.digest(f, st, synced := set(), rehash=_never)
    assert digest.result() == (hashlib.sha256(f.read_bytes()).hexdigest(), st.st_size)
    assert synced == {f}  # fsynced before it was read: not again before its link
    [tags] = spec.tags([(f, st)]).result()
    assert tags["PF:Reader"] == "exiftool" and tags["EXIF:DateTimeOriginal"] == "2024:01:31 23:59:59"
    assert (spec.used, spec.dropped, len(spec)) == (1, 0, 0)
    spec.close()


def test_a_result_is_handed_over_only_for_the_identity_it_was_read_from(tmp_path, reader):
    f = samples.photo(tmp_path / "IMG_2.JPG", seed=2)
    st = os.lstat(f)
    spec = speculate.Speculation(reader, wall=lambda: max(st.st_mtime, st.st_ctime) + 1.0)
    assert spec.start([(f, st)]) == 1
    spec.digest(f, st, set(), rehash=_never).result()  # read ahead, done
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # nothing but its ctime changes
    now = os.lstat(f)
    rehashed: list[Path] = []

    def rehash(path: Path) -> Future[tuple[str, int]]:
        rehashed.append(path)
        done: Future[tuple[str, int]] = Future()
        done.set_result(("again", now.st_size))
        return done

    spec2 = speculate.Speculation(reader, wall=spec.wall)
    spec2.start([(f, st)])
    assert spec2.digest(f, now, set(), rehash=rehash).result() == ("again", now.st_size)
    assert rehashed == [f]
    [tags] = spec2.tags([(f, now)]).result()  # read now, not the answer read ahead
    assert tags["PF:Reader"] == "exiftool" and spec2.dropped == 1 and spec2.used == 0
    spec.close()
    spec2.close()


def test_a_read_ahead_not_started_when_its_file_is_filed_is_done_then_in_the_batch_s_order(tmp_path, reader):
    import threading

    files = [samples.photo(tmp_path / f"IMG_{i}.JPG", seed=10 + i) for i in range(3)]
    release = threading.Event()

    def slow_hash(path: Path) -> tuple[str, int, bool]:
        release.wait(60)  # the read ahead's two hashing threads are busy with the first two files
        return "ahead", path.stat().st_size, False

    sts = [os.lstat(f) for f in files]
    spec = speculate.Speculation(reader, wall=lambda: max(max(s.st_mtime, s.st_ctime) for s in sts) + 1.0,
                                 hash_file=slow_hash)
    assert spec.start(list(zip(files, sts, strict=True))) == 3
    now: Future[tuple[str, int]] = Future()
    now.set_result(("now", sts[2].st_size))
    assert spec.digest(files[2], sts[2], set(), rehash=lambda _p: now).result() == ("now", sts[2].st_size)
    release.set()
    assert spec.digest(files[0], sts[0], set(), rehash=_never).result()[0] == "ahead"
    spec.close()
