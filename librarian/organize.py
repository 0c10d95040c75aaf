"""Where a file goes in the library, and moving it there without ever losing it.

Same filesystem: ``link`` (fails if the name exists: never clobbers) then ``unlink`` of the
source; where hard links are not supported, ``rename`` after an existence check (only one
librarian writes the library). Across devices: copy to a temporary name in the destination
folder, fsync, verify size and SHA-256 by reading it back, link/rename into place, fsync the
folder; the caller then deletes the source and records the new file (the journal entry,
committed before the move, lets a restart finish either step).

A :class:`Snapshot` of what was hashed (device, inode, size, mtime, ctime) is checked right
before and after each link and around each copy, so a file replaced meanwhile is never filed
under another file's record, and a source replaced after its copy is never deleted. Names are
limited in bytes (``NAME_MAX``), never in characters.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import stat
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from photo_factory import files
from photo_factory.files import CHUNK, fsync_dir, fsync_file  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

TEMP_PREFIX = ".pf-tmp-"
#: The kernel's limit for one path component, in bytes (Linux NAME_MAX, every common filesystem).
NAME_MAX = 255
#: A library or quarantine name is at most this long, leaving room for a ``_99999`` suffix.
_MAX_NAME_BYTES = NAME_MAX - 15
#: A suffix longer than this (or with a space) is part of the stem, not an extension.
_MAX_EXT_BYTES = 12
#: errno values saying "this name cannot be removed from its folder" (immutable or read-only
#: folder, no write permission): the file is still filed, its source is kept and recorded.
CANNOT_REMOVE = (errno.EPERM, errno.EACCES, errno.EROFS, errno.EBUSY)


class VerifyError(Exception):
    """A copy did not read back identical to its source."""


class SourceChanged(Exception):
    """The source is no longer the file that was hashed (replaced or modified meanwhile)."""


class CannotRemoveSource(OSError):
    """The file could not be removed from its folder (the move was undone: nothing changed)."""


def open_regular(path: Path) -> int:
    """Open ``path`` for reading only if it is a regular file: never follows a link and never
    blocks on a pipe that replaced the file meanwhile (``O_NONBLOCK``), raising
    :class:`SourceChanged` for anything but a regular file. Returns the descriptor."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceChanged(f"{path} is no longer a regular file")
    return fd


def sha256_file(path: Path) -> tuple[str, int]:
    """Stream a regular file in 1 MiB chunks: (hex digest, bytes read). See :func:`open_regular`."""
    return files.sha256_file(open_regular(path))


def sha256_synced(path: Path) -> tuple[str, int, bool]:
    """:func:`sha256_file` of a file first made durable: ``(digest, size, synced)``.

    The fsync comes before the read, on the same descriptor: a file that was already on disk is
    then still clean (reading it marks its access time dirty, and an fsync after the read would
    wait for a journal commit just for that), and a file still in the page cache is written out.
    What the caller links later is durable if it is still this file then (the :class:`Snapshot`
    check before the link: a write after the fsync changes the mtime). ``synced`` is False when
    the fsync failed (the caller syncs again, and fails, before the file is linked)."""
    fd = open_regular(path)
    try:
        os.fsync(fd)
        synced = True
    except OSError:
        synced = False
    digest, size = files.sha256_file(fd)
    return digest, size, synced


def safe_name(name: str | bytes) -> str:
    """A library name for any file name: valid UTF-8 in NFC, printable (control characters,
    ``/`` and ``\\`` become ``_``), never starting with ``-`` or ``.``, never empty or only
    spaces, at most :data:`_MAX_NAME_BYTES` bytes (shortened keeping the extension). The exact
    original is kept separately (``original_name_raw``, see :func:`name_to_db`)."""
    text = unicodedata.normalize("NFC", os.fsencode(name).decode("utf-8", errors="replace"))
    text = "".join(ch if ch == " " or (ch.isprintable() and ch not in "/\\") else "_" for ch in text)
    stem, ext = split_ext(text)
    if not stem.strip(" ."):
        stem = "unnamed"
    if stem[0] in "-.":
        stem = "_" + stem[1:]
    return _fit(stem, ext, _MAX_NAME_BYTES)


def split_ext(name: str) -> tuple[str, str]:
    """``("IMG_0001", ".JPG")``; a leading dot, a long or spaced suffix is no extension."""
    i = name.rfind(".")
    if i <= 0 or i == len(name) - 1:
        return name, ""
    ext = name[i:]
    if len(ext.encode("utf-8", "surrogateescape")) > _MAX_EXT_BYTES or " " in ext:
        return name, ""
    return name[:i], ext


def _fit(stem: str, tail: str, limit: int) -> str:
    """``stem + tail`` shortened (the stem, by whole characters) to at most ``limit`` bytes."""
    def size(s: str) -> int:
        return len(s.encode("utf-8", "surrogateescape"))
    while stem and size(stem) + size(tail) > limit:
        stem = stem[:-1]
    return (stem + tail) if stem else (tail or "unnamed")


def name_to_db(name: str | bytes) -> str:
    """A file name as database text, exactly and reversibly (see :func:`path_to_db`)."""
    return path_to_db(os.fsdecode(name))


def name_from_db(text: str) -> bytes:
    return os.fsencode(path_from_db(text))


def day_folder(capture_date: date) -> PurePosixPath:
    return PurePosixPath("Library", f"{capture_date:%Y}", f"{capture_date:%Y-%m-%d}")


def candidate_names(name: str) -> Iterator[str]:
    """``IMG.JPG``, ``IMG_1.JPG``, ``IMG_2.JPG``, … (the suffix goes before the extension), each
    at most :data:`NAME_MAX` bytes (the stem is shortened to make room for the suffix)."""
    stem, ext = split_ext(name)
    yield _fit(stem, ext, NAME_MAX)
    for i in range(1, 100_000):
        yield _fit(stem, f"_{i}{ext}", NAME_MAX)






_sync_pool: ThreadPoolExecutor | None = None
_sync_pool_lock = threading.Lock()


def fsync_dirs(folders: Iterable[Path]) -> None:
    """fsync every folder, side by side (fsync releases the GIL): on a busy disk each fsync waits
    for a cache flush of its own, and one after the other they took 3-5 times as long. Returns
    when all have ended; raises the first error then."""
    todo = list(folders)
    if len(todo) <= 1:
        for folder in todo:
            fsync_dir(folder)
        return
    global _sync_pool
    with _sync_pool_lock:
        if _sync_pool is None:
            _sync_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fsync")
        pool = _sync_pool
    errors = [f.exception() for f in [pool.submit(fsync_dir, folder) for folder in todo]]
    for exc in errors:
        if exc is not None:
            raise exc


def close_sync_pool() -> None:
    """End the threads of :func:`fsync_dirs` (idle between batches)."""
    global _sync_pool
    with _sync_pool_lock:
        pool, _sync_pool = _sync_pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def make_dirs(path: Path, to_sync: set[Path] | None = None) -> None:
    """mkdir -p, fsyncing each parent whose entry we created — or, with ``to_sync``, adding it
    there for the caller to fsync with the rest of its batch (once each, after all its links:
    one journal commit for the batch instead of one per new folder)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        if to_sync is None:
            fsync_dir(d.parent)
        else:
            to_sync.add(d.parent)


def same_device(src: Path, dest_dir: Path) -> bool:
    probe = dest_dir
    while not probe.exists():
        probe = probe.parent
    return os.lstat(src).st_dev == os.stat(probe).st_dev


@dataclass(frozen=True)
class Snapshot:
    """Who a file was when it was looked at (hashed): device, inode, size, mtime and ctime."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Snapshot:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def same_file(self, st: os.stat_result) -> bool:
        """The same inode with the same size and mtime (a link of it changes only its ctime)."""
        return (self.dev, self.ino, self.size, self.mtime_ns) == (st.st_dev, st.st_ino, st.st_size,
                                                                   st.st_mtime_ns)

    def unchanged(self, st: os.stat_result) -> bool:
        return self.same_file(st) and self.ctime_ns == st.st_ctime_ns


def check_unchanged(path: Path, expect: Snapshot) -> None:
    """Raise :class:`SourceChanged` unless ``path`` is still the file of ``expect``."""
    if not expect.unchanged(os.lstat(path)):
        raise SourceChanged(f"{path} was replaced or modified after it was hashed")


def place(src: Path, dest: Path, sync_dirs: bool = True, expect: Snapshot | None = None) -> None:
    """Give ``src``'s inode the name ``dest`` (same filesystem) and remove the name ``src``.

    Raises FileExistsError if ``dest`` exists; never overwrites. With ``expect`` (what was
    hashed), the source is checked right before and the new name right after the link, and a
    mismatch undoes the link and raises :class:`SourceChanged`. A source that cannot be removed
    from its folder undoes the link and raises :class:`CannotRemoveSource`: nothing changed.
    With ``sync_dirs=False`` the caller fsyncs both folders itself (once per batch).
    """
    if expect is not None:
        check_unchanged(src, expect)
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise FileExistsError(dest) from exc
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EACCES):
            raise
        # no hard links here (FAT, some network and FUSE filesystems, a file we do not own)
        if os.path.lexists(dest):
            raise FileExistsError(dest) from exc
        try:
            os.rename(src, dest)
        except OSError as rexc:
            if rexc.errno in CANNOT_REMOVE:
                raise CannotRemoveSource(rexc.errno, rexc.strerror, str(src)) from rexc
            raise
    else:
        if expect is not None and not expect.same_file(os.lstat(dest)):
            os.unlink(dest)
            raise SourceChanged(f"{src} was replaced while it was being linked")
        try:
            os.unlink(src)
        except OSError as exc:
            if exc.errno not in CANNOT_REMOVE:
                raise
            os.unlink(dest)
            raise CannotRemoveSource(exc.errno, exc.strerror, str(src)) from exc
    if sync_dirs:
        fsync_dir(dest.parent)
        if src.parent != dest.parent:
            fsync_dir(src.parent)


def copy_verified(src: Path, temp: Path, expected_sha: str, expected_size: int,
                  expect: Snapshot | None = None) -> None:
    """Copy ``src`` to the new file ``temp``, fsync, and read it back to check size and hash.

    Raises :class:`SourceChanged` when the bytes read are not the ones hashed (or, with
    ``expect``, the open file is not the inode that was hashed), :class:`VerifyError` when the
    copy does not read back identical."""
    h = hashlib.sha256()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with open(open_regular(src), "rb", buffering=0) as fin, os.fdopen(fd, "wb", buffering=0) as fout:
            fd = -1
            if expect is not None and not expect.same_file(os.fstat(fin.fileno())):
                raise SourceChanged(f"{src} was replaced after it was hashed")
            while True:
                chunk = fin.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[fout.write(view):]
            os.fsync(fout.fileno())
            if expect is not None and not expect.same_file(os.fstat(fin.fileno())):
                raise SourceChanged(f"{src} changed while it was being copied")
    except BaseException:
        if fd != -1:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    if h.hexdigest() != expected_sha:
        temp.unlink(missing_ok=True)
        raise SourceChanged(f"{src} changed while it was being copied")
    digest, size = sha256_file(temp)
    if (digest, size) != (expected_sha, expected_size):
        temp.unlink(missing_ok=True)
        raise VerifyError(f"copy of {src} does not read back identical")


def remove_source(src: Path, expect: Snapshot | None = None) -> OSError | None:
    """Remove the name ``src`` of a file already filed elsewhere. Returns None when removed (or
    gone), else why it stays: a folder it cannot be removed from, or a name that now holds
    another file (``expect`` no longer matches: that newer file is taken in a later round)."""
    try:
        if expect is not None and not expect.same_file(os.lstat(src)):
            return FileExistsError(errno.EEXIST, "replaced by a newer file after it was copied", str(src))
        os.unlink(src)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in CANNOT_REMOVE:
            return exc
        raise
    fsync_dir(src.parent)
    return None


def recreate_node(src: Path, dest: Path, st: os.stat_result) -> None:
    """Give a link, pipe, socket or device ``dest`` as a new node of the same kind (another
    filesystem: a rename is impossible and these have no content to copy)."""
    if os.path.lexists(dest):
        raise FileExistsError(dest)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    else:
        os.mknod(dest, st.st_mode, st.st_rdev)


def move_entry(src: Path, dest: Path, temp: Path | None = None) -> None:
    """Move any entry (file, link, pipe, socket) to ``dest``, never overwriting, on one
    filesystem or across devices (a verified copy through a temporary name, or a new node of
    the same kind), then remove ``src``. ``temp``: the temporary name to use (journaled by the
    caller, so a crash's leftover is removed by the replay)."""
    st = os.lstat(src)
    if os.path.lexists(dest):
        raise FileExistsError(dest)
    if stat.S_ISREG(st.st_mode):
        try:
            place(src, dest)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        temp = temp or temp_name(dest)
        sha, size = sha256_file(src)
        try:
            copy_verified(src, temp, sha, size, expect=Snapshot.of(st))
            place(temp, dest)
        finally:
            temp.unlink(missing_ok=True)
    else:
        try:
            os.rename(src, dest)
            fsync_dir(dest.parent)
            fsync_dir(src.parent)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        recreate_node(src, dest, st)
    fsync_dir(dest.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def path_to_db(path: Path | str) -> str:
    """A file system path as database text, reversibly (names need not be valid UTF-8)."""
    raw = os.fsencode(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "b64:" + base64.b64encode(raw).decode()
    return "b64:" + base64.b64encode(raw).decode() if text.startswith("b64:") or "\x00" in text else text


def path_from_db(text: str) -> Path:
    if text.startswith("b64:"):
        return Path(os.fsdecode(base64.b64decode(text[4:])))
    return Path(text)


def temp_name(dest: Path) -> Path:
    """A fresh hidden name in ``dest``'s folder, short whatever ``dest``'s name is."""
    return dest.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
