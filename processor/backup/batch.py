"""One backup batch: upload the originals with one rclone call per chunk, then verify every one.

A file counts as backed up only when the remote provably holds the bytes whose SHA-256 the
database records. ``check`` (the default) proves it from the upload itself, without reading
anything a second time from the disk or the remote:

- the original's SHA-256, computed alongside the upload (so from the page cache rclone reads
  too), equals the database's; the file last changed before the upload started, and its size,
  mtime, inode and ctime are the same after the upload as when it was hashed (so both read the
  same bytes). The upload starts when rclone is handed its list: an rclone started ahead of its
  batch (:meth:`rclone.Rclone.start_upload`) reads no file before;
- rclone reports the file ``Copied`` in this call *and* its post-transfer hash check passed
  (``<hash> = … OK``: for a crypt remote, the hash of the ciphertext rclone produced against the
  underlying backend's own hash of the object it stored; otherwise a hash both sides support).

The evidence of a fresh upload is complete the moment rclone logs the file (rclone logs a file
once its transfer and hash check are done; the hasher usually read it long before): the file is
then handed on at once, and the stage engine sets its flag while the rest of the batch uploads.

A file without that evidence (already on the remote, a backend without hashes, an odd name) is
proved the slower way: ``rclone cryptcheck``/``check`` (re-encrypts the local file, compares
hashes), then a read-back. ``sha256`` reads every uploaded file back and hashes it.

One file's failure is that file's only: rclone carries on with the others and its log names
each file's error, typed here as ``too_large`` (bigger than the remote accepts: ``--max-size``,
a backend size limit, or bigger than the whole remote; never retried), ``remote_full``
(retried: space can be freed), ``name_too_long`` (the remote cannot store the name; never
retried) or ``upload_failed``. Only a call that got nowhere with any file
counts as the remote being unusable. Nothing is ever deleted, locally or remotely: a different
file already at a path on the remote is moved to ``Attic/<time>/`` before the upload.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from photo_factory import files
from processor.backup import rclone
from processor.backup.store import Asset

log = logging.getLogger(__name__)

#: Folder on the remote for files a later upload replaced (the backup never destroys a copy).
ATTIC = "Attic"
#: Reasons that no retry can cure: the item fails at once.
PERMANENT = frozenset({"unlistable_name", "too_large", "name_too_long"})


@dataclass
class BatchResult:
    done: list[Asset] = field(default_factory=list)
    #: reason -> (assets, detail, counts towards giving up)
    failed: dict[str, tuple[list[Asset], str, bool]] = field(default_factory=dict)

    def fail(self, reason: str, assets: list[Asset], detail: str, *, counts: bool = True) -> None:
        """``counts=False``: the remote as a whole is unusable (the service pauses and probes it)."""
        if not assets:
            return
        prev = self.failed.get(reason, ([], detail, counts))
        self.failed[reason] = (prev[0] + assets, detail, counts and prev[2])

    def merge(self, other: BatchResult) -> None:
        self.done.extend(other.done)
        for reason, (assets, detail, counts) in other.failed.items():
            self.fail(reason, assets, detail, counts=counts)

    @property
    def failed_count(self) -> int:
        return sum(len(a) for a, _, _ in self.failed.values())


@dataclass(frozen=True)
class LocalRead:
    """The original's SHA-256 as read for this batch, and its identity when read."""

    sha256: str | None  # None: unreadable
    identity: tuple[int, ...] | None
    error: str = ""


def back_up(
    tool: rclone.Rclone,
    storage_dir: Path,
    remote: str,
    assets: list[Asset],
    verify: str,
    *,
    chunks: int = 1,
    on_done: Callable[[list[Asset]], None] | None = None,
    started: rclone.Started | None = None,
) -> BatchResult:
    """Upload ``assets`` (paths relative to ``storage_dir``) to ``remote`` and verify them.

    The batch is uploaded in up to ``chunks`` rclone calls, pipelined: chunk *k* is verified
    while chunk *k+1* uploads. With ``check`` the originals are hashed alongside the uploads, and
    a file whose evidence is complete the moment rclone logs it (hashed already, unchanged since)
    is handed to ``on_done`` then, in a thread of its own, while the others still upload (the
    stage engine records it at once: the batch's end no longer waits for 300 flag updates).
    ``on_done`` has been called for the last time when this returns; its files are in ``done``.
    ``started``: the first chunk's rclone, started ahead (:meth:`rclone.Rclone.start_upload`);
    closed here if no chunk takes it.
    """
    result = BatchResult()
    ready = _admissible(tool, storage_dir, assets, result)
    parts = _split(ready, chunks)
    src = rclone.local_root(storage_dir)
    local: dict[int, LocalRead] = {}  # filled by the hasher as it goes
    early = _Finisher(on_done) if on_done is not None and verify == "check" else None
    try:
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-hash") as hasher,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-verify") as verifier,
        ):
            reads = ([hasher.submit(read_originals, storage_dir, part, local) for part in parts]
                     if verify == "check" else [])
            checks = []
            for i, part in enumerate(parts):
                paths = [a.library_path for a in part]
                started_ns = time.time_ns()
                watch = None if early is None else functools.partial(
                    _proved_at_once, early, storage_dir, {a.library_path: a for a in part}, local, started_ns)
                try:
                    up = tool.upload(src, remote, paths, backup_dir=attic(remote), on_verified=watch,
                                     started=started if i == 0 else None)
                except rclone.RcloneError as exc:  # rclone could not run at all
                    up = rclone.Upload(failure=exc)
                if up.failure is not None and not up.got_anywhere(paths):
                    failed = [a for rest in parts[i:] for a in rest if early is None or a.id not in early.accepted]
                    log.warning("upload of %d files failed: %s", len(failed), up.failure)
                    result.fail(up.failure.reason, failed, up.failure.detail, counts=False)
                    result.done.extend(a for a in part if early is not None and a.id in early.accepted)
                    break
                checks.append(
                    verifier.submit(
                        _verified, tool, storage_dir, remote, part, verify, up, reads[i] if reads else None,
                        started_ns, early.accepted if early is not None else frozenset()
                    )
                )
            for check in checks:
                result.merge(check.result())
    finally:
        if started is not None:
            started.close()  # unless the first chunk took it
        if early is not None:
            early.close()
    _never_fits(tool, remote, result)
    return result


def _proved_at_once(finisher: _Finisher, storage_dir: Path, by_path: dict[str, Asset], local: dict[int, LocalRead],
                    started_ns: int, path: str) -> None:
    """rclone just logged ``path`` copied and hash-checked: if the original was hashed already
    (the database's SHA-256) and is unchanged since, the evidence is complete: done now. Else the
    chunk's verification judges it after the upload, as always."""
    a = by_path.get(path)
    got = local.get(a.id) if a is not None else None
    if a is not None and got is not None and got.sha256 == a.sha256 and _same_file(storage_dir / path, got, started_ns):
        finisher.add(a)


class _Finisher:
    """Hands proved files to ``on_done`` in a thread of its own: what arrived within ``wait_s`` of
    the first waiting file (at most ``most``), one database statement for many files. ``wait_s``
    is short next to an upload: at 0.5 s a batch uploaded at disk speed (300 files in 0.4 s) had
    every flag set after rclone's exit (~0.04 s of the batch); at 0.1 s all but the last few are
    set while it uploads."""

    def __init__(self, on_done: Callable[[list[Asset]], None], most: int = 200, wait_s: float = 0.1):
        self.on_done, self.most, self.wait_s = on_done, most, wait_s
        self.accepted: set[int] = set()
        self._queue: queue.Queue[Asset | None] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backup-done", daemon=True)
        self._thread.start()

    def add(self, a: Asset) -> None:
        self.accepted.add(a.id)
        self._queue.put(a)

    def close(self) -> None:
        self._closing.set()
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            # then what arrives within wait_s (or until close), taken at once: waiting on the
            # queue item by item woke this thread for every file
            self._closing.wait(self.wait_s)
            batch = [first]
            while len(batch) < self.most:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            try:
                self.on_done(batch)
            except Exception:  # they stay with the batch: its end records them
                log.exception("recording %d backed-up files early failed", len(batch))


def _admissible(tool: rclone.Rclone, storage_dir: Path, assets: list[Asset], result: BatchResult) -> list[Asset]:
    """The assets worth an upload; the others fail here with their reason."""
    limit = tool.max_size
    ready: list[Asset] = []
    for a in assets:
        if not rclone.listable(a.library_path):
            result.fail("unlistable_name", [a], "file name contains a line break")
        elif not (storage_dir / a.library_path).is_file():
            log.error("asset %s: original %s is missing", a.id, a.library_path)
            result.fail("original_missing", [a], f"{a.library_path} not found in storage")
        elif limit is not None and a.size_bytes > limit:
            log.error("asset %s: %s is larger than --max-size (%d bytes)", a.id, a.library_path, limit)
            result.fail("too_large", [a], f"{a.size_bytes} bytes, larger than --max-size ({limit} bytes)")
        else:
            ready.append(a)
    return ready


def _split(items: list[Asset], chunks: int, min_size: int = 25) -> list[list[Asset]]:
    n = max(1, min(chunks, len(items) // min_size))
    size = -(-len(items) // n) if items else 0
    return [items[i : i + size] for i in range(0, len(items), size)] if items else []


def _identity(path: Path) -> tuple[int, ...]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def read_originals(storage_dir: Path, assets: list[Asset], out: dict[int, LocalRead] | None = None
                   ) -> dict[int, LocalRead]:
    """SHA-256 and identity of each original (runs beside the upload, in the hasher thread),
    added to ``out`` one by one as they are read."""
    out = {} if out is None else out
    for a in assets:
        path = storage_dir / a.library_path
        try:
            ident = _identity(path)
            out[a.id] = LocalRead(files.sha256_file(path)[0], ident)
        except OSError as exc:
            out[a.id] = LocalRead(None, None, f"{type(exc).__name__}: {exc}")
    return out


def _verified(
    tool: rclone.Rclone,
    storage_dir: Path,
    remote: str,
    part: list[Asset],
    verify: str,
    up: rclone.Upload,
    read: Future[dict[int, LocalRead]] | None,
    started_ns: int = 0,
    proved: set[int] | frozenset[int] = frozenset(),
) -> BatchResult:
    """Verify one uploaded chunk (runs in the verifier thread; returns its own result).
    ``proved``: files already proved (and handed on) while the chunk uploaded."""
    result = BatchResult()
    local = read.result() if read is not None else {}
    suspects: list[Asset] = []
    for a in part:
        got = local.get(a.id)
        if a.id in proved:
            result.done.append(a)
        elif got is not None and got.sha256 is None:
            result.fail("original_unreadable", [a], got.error)
        elif got is not None and got.sha256 != a.sha256:
            log.error("asset %s: %s no longer matches its database SHA-256", a.id, a.library_path)
            result.fail("hash_mismatch", [a], "the original no longer matches its database SHA-256")
        elif a.library_path in up.errors and a.library_path not in up.copied | up.unchanged:
            message = up.errors[a.library_path]
            reason = rclone.failure_reason(message)
            log.warning("asset %s: upload of %s failed (%s): %s", a.id, a.library_path, reason, message)
            result.fail(reason, [a], message)
        elif (
            got is not None
            and a.library_path in up.verified
            and _same_file(storage_dir / a.library_path, got, started_ns)
        ):
            result.done.append(a)
        else:
            suspects.append(a)
    if suspects:
        _verify(tool, rclone.local_root(storage_dir), remote, suspects, verify, result, verify == "check")
    return result


def _same_file(path: Path, read: LocalRead, started_ns: int) -> bool:
    """rclone and the hasher read the same bytes: the file last changed (ctime) before the upload
    started, and its size, mtime, inode and ctime are still those it had when it was hashed."""
    try:
        return read.identity is not None and read.identity[3] < started_ns and _identity(path) == read.identity
    except OSError:
        return False


def _verify(
    tool: rclone.Rclone, src: str, remote: str, ready: list[Asset], verify: str, result: BatchResult, compare: bool
) -> None:
    """The slow proofs. ``compare``: (crypt)check proves the remote holds exactly the local file
    (whose SHA-256 was already checked); anything it cannot vouch for by hash is read back.
    Otherwise every file is read back and hashed."""
    suspects = ready
    if compare:
        try:
            bad, by_hash = tool.compare(src, remote, [a.library_path for a in ready], crypt=_is_crypt(tool, remote))
        except rclone.RcloneError as exc:  # the check could not run: the remote, not the files
            log.warning("verification of %d files failed: %s", len(ready), exc)
            result.fail("verify_" + exc.reason, ready, exc.detail, counts=False)
            return
        bad_set = set(bad) if by_hash else {a.library_path for a in ready}
        suspects = [a for a in ready if a.library_path in bad_set]
        result.done.extend(a for a in ready if a.library_path not in bad_set)
        if not suspects:
            return
    sums = _read_back(tool, remote, suspects, result)
    for a in suspects:
        if a in result.failed.get("remote_unreadable", ([], "", True))[0]:
            continue
        got = sums.get(a.library_path)
        if got is None:
            result.fail("missing_on_remote", [a], "not found on the remote after upload")
        elif got != a.sha256:
            log.error(
                "asset %s: remote copy of %s has SHA-256 %s, database says %s", a.id, a.library_path, got, a.sha256
            )
            result.fail("hash_mismatch", [a], f"remote sha256 {got} != database {a.sha256}")
        else:
            result.done.append(a)


def _read_back(tool: rclone.Rclone, remote: str, assets: list[Asset], result: BatchResult) -> dict[str, str]:
    """SHA-256 of the remote copies, downloaded (and decrypted). One copy that cannot be read
    (damaged ciphertext fails decryption) must not fail the others: on an error, file by file."""
    try:
        return tool.sha256sums(remote, [a.library_path for a in assets])
    except rclone.RcloneError as exc:
        if len(assets) > 1:
            sums: dict[str, str] = {}
            for a in assets:
                sums.update(_read_back(tool, remote, [a], result))
            return sums
        log.error("asset %s: the remote copy of %s cannot be read back: %s", assets[0].id, assets[0].library_path, exc)
        result.fail("remote_unreadable", assets, f"{exc.reason}: {exc.detail}")
        return {}


def _never_fits(tool: rclone.Rclone, remote: str, result: BatchResult) -> None:
    """``remote_full`` for a file bigger than the whole remote is ``too_large``: no retry helps."""
    full = result.failed.get("remote_full")
    if not full:
        return
    total = tool.capacity(remote)
    if total is None:
        return
    assets, detail, counts = full
    never = [a for a in assets if a.size_bytes > total]
    if never:
        result.failed.pop("remote_full")
        result.fail("remote_full", [a for a in assets if a not in never], detail, counts=counts)
        result.fail("too_large", never, f"larger than the whole remote ({total} bytes): {detail}")


def attic(remote: str) -> str:
    """Where a remote file about to be replaced by a different one is kept (never overwritten)."""
    return rclone.join(remote, ATTIC, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))


@functools.lru_cache(maxsize=16)
def _is_crypt(tool: rclone.Rclone, remote: str) -> bool:
    """Whether ``remote`` is a crypt remote (asked once per process: one ``rclone config dump``)."""
    return tool.remote_type(remote) == "crypt"
