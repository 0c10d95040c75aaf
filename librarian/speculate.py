"""Reading ahead during the quiet period: ExifTool's answer and the SHA-256 of files that have not
changed so far, made while they still wait, so a burst is filed as soon as its quiet period ends.

The quiet period (``PF_STABILITY_SECONDS``) is paid once per burst, and both cores used to idle
through it: the burst's first asset was recorded 0.4-0.8 s after it ended (ExifTool's start, the
first chunk's read and hashes). Here the reading starts at the first look, and filing still waits
for the whole quiet period (:meth:`inbox.Candidates.ready` decides that, unchanged).

Nothing is decided here: a result is only a cache of work the ingest would do anyway, and it is
used only for the very file it was made from. The file's identity (device, inode, size, mtime,
ctime) is noted before the read; the hash checks it on its open descriptor before and after
reading, ExifTool's answer by ``lstat`` after its read; the ingest takes a result only when the
file's identity at filing is still the noted one (:meth:`Speculation.digest`,
:meth:`Speculation.tags`), and checks it once more before the link (as it always did). Any change
(an append, a rewrite in place with the old mtime put back, a new file under the name) and the
file is read again when it is filed. A file is read ahead only when its mtime and ctime are older
than :data:`SETTLED_S` by our own clock (the inbox's file times follow it: ``trust_file_times``):
any write after the noted identity then gives a later mtime, even one within the same clock tick
as the look. A file that changed after its read ahead is being written: it is not read ahead
again (a slow upload that pauses would be read after every pause), only when it is filed. A read
ahead not started when its file is filed (a loaded box) is cancelled and done the ordinary way, in
the batch's order: the batch never waits behind reads of files it does not take yet.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from librarian import early, metadata, organize

log = logging.getLogger(__name__)

#: A file is read ahead once nothing changed it (mtime, ctime) for this long: longer than any
#: file system's time granularity, short beside a quiet period.
SETTLED_S = 0.25
#: Files read ahead at most (one batch's worth: ``PF_EXIFTOOL_BATCH``'s default).
LIMIT = 512
#: Files per ExifTool call when reading ahead (the first answers are in while it reads the next).
GROUP = 16
#: Larger files are not hashed ahead (a video still being copied in pauses would be read again
#: after each pause); they are read when filed, as before.
MAX_HASH_BYTES = 256 << 20

Hash = Callable[[Path], "tuple[str, int, bool]"]


class Stale(Exception):
    """The file changed while it was read ahead: the result is not used."""


@dataclass
class _Entry:
    identity: tuple[int, ...]
    tags: Future[list[dict[str, Any]]] | None  # the group's answer ...
    index: int  # ... and this file's place in it
    digest: Future[tuple[str, int, bool]] | None


class Speculation:
    """Read-ahead results by path; every method is called from the service's thread."""

    def __init__(self, reader: metadata.MetadataReader, *, wall: Callable[[], float] = time.time,
                 hash_file: Hash | None = None, limit: int = LIMIT):
        self.reader = reader
        self.wall = wall
        self.limit = limit
        self._hash_file: Hash = hash_file or organize.sha256_synced
        self._entries: dict[Path, _Entry] = {}
        #: paths whose read ahead was dropped because they changed: being written, so not read
        #: ahead again (a slow upload that pauses would be hashed after every pause); they are
        #: read when filed, as before
        self._changed: set[Path] = set()
        self._hasher: ThreadPoolExecutor | None = None
        self._count = threading.Lock()  # the counters below are bumped from reader threads too
        #: files read ahead and used / read ahead and dropped (changed, failed): the heartbeat's
        #: and the tests' view of it
        self.used = 0
        self.dropped = 0
        #: ... and not read ahead in time: its read had not started when it was filed
        self.late = 0
        #: seconds until a file skipped by the last :meth:`start` (written just now) has settled
        self.next_look: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    # -- reading ahead ---------------------------------------------------------------
    def start(self, settling: Iterable[tuple[Path, os.stat_result]]) -> int:
        """Read ahead the files of ``settling`` (each with its ``lstat`` of this look) that are
        settled so far and not read yet in this identity; returns how many were started."""
        now = self.wall()
        self.next_look = None
        todo: list[tuple[Path, tuple[int, ...], int]] = []
        for path, st in settling:
            ident = early.identity(st)
            entry = self._entries.get(path)
            if entry is not None:
                if entry.identity == ident:
                    continue
                self._drop(path)  # changed since it was read ahead: being written
                self._changed.add(path)
            if path in self._changed:
                continue
            if len(self._entries) + len(todo) >= self.limit:
                break
            age = now - max(st.st_mtime, st.st_ctime)
            if age < SETTLED_S:  # written just now: maybe still being written; look again soon
                wait = max(SETTLED_S - max(age, 0.0), 0.01)
                self.next_look = wait if self.next_look is None else min(self.next_look, wait)
                continue
            todo.append((path, ident, st.st_size))
        for at in range(0, len(todo), GROUP):
            group = todo[at:at + GROUP]
            answer = self.reader.submit([p for p, _, _ in group])
            for i, (path, ident, size) in enumerate(group):
                digest = self._submit_hash(path, ident) if size <= MAX_HASH_BYTES else None
                self._entries[path] = _Entry(ident, answer, i, digest)
        if todo:
            log.debug("reading %d settling file(s) ahead", len(todo))
        return len(todo)

    def _submit_hash(self, path: Path, ident: tuple[int, ...]) -> Future[tuple[str, int, bool]]:
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sha256-ahead")
        return self._hasher.submit(self._hash, path, ident)

    def _hash(self, path: Path, ident: tuple[int, ...]) -> tuple[str, int, bool]:
        sha, size, synced = self._hash_file(path)
        # the hash reads through a descriptor of its own; what it read is this identity's
        # content if the name still shows that identity after the read (an inode cannot come
        # back with the same ctime)
        if early.identity(os.lstat(path)) != ident or size != ident[2]:
            raise Stale(str(path))
        return sha, size, synced

    # -- taking results --------------------------------------------------------------
    def _take(self, path: Path, st: os.stat_result) -> _Entry | None:
        entry = self._entries.pop(path, None)
        if entry is None:
            return None
        if entry.identity != early.identity(st):
            self._counted(dropped=1)
            return None
        return entry

    def digest(self, path: Path, st: os.stat_result, synced: set[Path],
               rehash: Callable[[Path], Future[tuple[str, int]]]) -> Future[tuple[str, int]]:
        """The SHA-256 future of ``path`` for the ingest (``st``: its ``lstat`` at filing): the
        one read ahead when the identity is unchanged, else ``rehash(path)``. A path read ahead
        and fsynced is added to ``synced``. Call it before :meth:`tags` (which forgets the path)."""
        entry = self._entries.get(path)
        if entry is None or entry.digest is None or entry.identity != early.identity(st):
            return rehash(path)
        ahead, entry.digest = entry.digest, None
        if ahead.cancel():  # not started yet: hashed now, in the batch's order, not behind others
            return rehash(path)
        out: Future[tuple[str, int]] = Future()

        def done(f: Future[tuple[str, int, bool]]) -> None:
            try:
                if f.cancelled() or f.exception() is not None:
                    self._counted(dropped=1)
                    _chain(rehash(path), out)
                    return
                sha, size, was_synced = f.result()
                if was_synced:
                    synced.add(path)
                out.set_result((sha, size))
            except BaseException as exc:  # e.g. the batch's hasher already shut down
                if not out.done():
                    out.set_exception(exc)

        ahead.add_done_callback(done)
        return out

    def tags(self, chunk: Sequence[tuple[Path, os.stat_result]]) -> Future[list[dict[str, Any]]]:
        """The tags of a chunk's files (each with its ``lstat`` at filing), in order: the answers
        read ahead where the identity is unchanged (and still is after the read), the rest read
        now in one call. Every path of the chunk is forgotten here."""
        entries = [self._take(p, st) for p, st in chunk]
        for i, e in enumerate(entries):  # not started yet: read now, in the batch's order, not behind others
            if e is not None and e.tags is not None and e.tags.cancel():
                entries[i] = None
                self._counted(late=1)
        if all(e is None or e.tags is None for e in entries):
            return self.reader.submit([p for p, _ in chunk])
        out: Future[list[dict[str, Any]]] = Future()
        results: list[dict[str, Any] | None] = [None] * len(chunk)
        waiting = {id(e.tags): e.tags for e in entries if e is not None and e.tags is not None}
        left = [len(waiting)]
        lock = threading.Lock()

        def read_rest() -> None:
            for i, ((path, st), entry) in enumerate(zip(chunk, entries, strict=True)):
                got = _answer(entry)
                if got is not None and _unchanged(path, st):
                    results[i] = got
                    self._counted(used=1)
                elif entry is not None:
                    self._counted(dropped=1)
            rest = [i for i, r in enumerate(results) if r is None]
            if not rest:
                out.set_result([r or {} for r in results])
                return
            now = self.reader.submit([chunk[i][0] for i in rest])

            def fill(f: Future[list[dict[str, Any]]]) -> None:
                if f.exception() is not None:
                    out.set_exception(f.exception())  # type: ignore[arg-type]
                    return
                for i, tags in zip(rest, f.result(), strict=True):
                    results[i] = tags
                out.set_result([r or {} for r in results])

            now.add_done_callback(fill)

        def one_done(_f: Future[list[dict[str, Any]]]) -> None:
            with lock:  # the groups' reads end in different reader threads
                left[0] -= 1
                last = left[0] == 0
            if last:
                read_rest()

        for f in waiting.values():
            f.add_done_callback(one_done)
        return out

    def finished(self, path: Path) -> bool:
        """Was ``path`` read ahead, ExifTool's answer and the hash both in? (tests, diagnostics)"""
        e = self._entries.get(path)
        return e is not None and all(f is not None and f.done() for f in (e.tags, e.digest))

    def progress(self) -> str:
        """How far the reading ahead is (the service's debug log)."""
        es = list(self._entries.values())
        tags = sum(1 for e in es if e.tags is not None and e.tags.done())
        hashed = sum(1 for e in es if e.digest is not None and e.digest.done())
        return (f"{len(es)} waiting ({tags} read, {hashed} hashed); {self.used} used, {self.dropped} dropped, "
                f"{self.late} late so far")

    # -- housekeeping ----------------------------------------------------------------
    def keep_only(self, paths: Iterable[Path]) -> None:
        """Forget results for paths that are no longer waiting (taken, vanished, deferred)."""
        keep = set(paths)
        for path in [p for p in self._entries if p not in keep]:
            self._drop(path)
        self._changed &= keep

    def _counted(self, used: int = 0, dropped: int = 0, late: int = 0) -> None:
        with self._count:
            self.used += used
            self.dropped += dropped
            self.late += late

    def _drop(self, path: Path) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._counted(dropped=1)
            if entry.digest is not None:
                entry.digest.cancel()  # not started yet: never read

    def close(self) -> None:
        self._entries.clear()
        self._changed.clear()
        if self._hasher is not None:
            self._hasher.shutdown(wait=True, cancel_futures=True)
            self._hasher = None


def _answer(entry: _Entry | None) -> dict[str, Any] | None:
    """A file's answer read ahead, None when the read failed or fell back to Pillow."""
    if entry is None or entry.tags is None or entry.tags.cancelled() or entry.tags.exception() is not None:
        return None
    answers = entry.tags.result()
    got = answers[entry.index] if entry.index < len(answers) else None
    if not got or got.get("PF:Reader") != "exiftool" or "PF:ReaderProblem" in got:
        return None  # read with Pillow (ExifTool failed on it): read again when filed
    return got


def _unchanged(path: Path, st: os.stat_result) -> bool:
    """Is ``path`` still the file of ``st`` (after a read ahead finished)?"""
    try:
        return early.identity(os.lstat(path)) == early.identity(st)
    except OSError:
        return False


def _chain(src: Future[Any], dst: Future[Any]) -> None:
    def copy(f: Future[Any]) -> None:
        exc = f.exception()
        if exc is not None:
            dst.set_exception(exc)
        else:
            dst.set_result(f.result())

    src.add_done_callback(copy)
