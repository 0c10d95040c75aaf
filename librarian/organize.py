"""Where a file goes in the library, and moving it there without ever losing it.

Same filesystem: ``link`` (fails if the name exists: never clobbers) then ``unlink`` of the
source; where hard links are not supported, ``rename`` after an existence check (only one
librarian writes the library). Across devices: copy to a temporary name in the destination
folder, fsync, verify size and SHA-256 by reading it back, link/rename into place, fsync the
folder; the caller then deletes the source and records the new file (the journal entry,
committed before the move, lets a restart finish either step).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path, PurePosixPath

from photo_factory.files import CHUNK, fsync_dir, fsync_file, sha256_file  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

TEMP_PREFIX = ".pf-tmp-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME_BYTES = 240


class VerifyError(Exception):
    """A copy did not read back identical to its source."""




def safe_name(name: str) -> str:
    """A file name representable in the database (valid UTF-8, no control characters), kept as
    close to the original as possible; long names are shortened keeping the extension."""
    text = os.fsencode(name).decode("utf-8", errors="replace")
    text = _CONTROL.sub("_", text).strip() or "unnamed"
    if text in (".", ".."):
        text = "unnamed"
    stem, ext = os.path.splitext(text)
    while len((stem + ext).encode()) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + ext


def day_folder(capture_date: date) -> PurePosixPath:
    return PurePosixPath("Library", f"{capture_date:%Y}", f"{capture_date:%Y-%m-%d}")


def candidate_names(name: str) -> Iterator[str]:
    """``IMG.JPG``, ``IMG_1.JPG``, ``IMG_2.JPG``, … (the suffix goes before the extension)."""
    stem, ext = os.path.splitext(name)
    yield name
    for i in range(1, 100_000):
        yield f"{stem}_{i}{ext}"






def make_dirs(path: Path) -> None:
    """mkdir -p, fsyncing each parent whose entry we created."""
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
        fsync_dir(d.parent)


def same_device(src: Path, dest_dir: Path) -> bool:
    probe = dest_dir
    while not probe.exists():
        probe = probe.parent
    return os.stat(src).st_dev == os.stat(probe).st_dev


def place(src: Path, dest: Path, sync_dirs: bool = True) -> None:
    """Give ``src``'s inode the name ``dest`` (same filesystem) and remove the name ``src``.

    Raises FileExistsError if ``dest`` exists; never overwrites. With ``sync_dirs=False`` the
    caller fsyncs both folders itself (once per batch) before recording the move.
    """
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise FileExistsError(dest) from exc
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EACCES):
            raise
        # no hard links here (FAT, some network and FUSE filesystems)
        if os.path.lexists(dest):
            raise FileExistsError(dest) from exc
        os.rename(src, dest)
    else:
        os.unlink(src)
    if sync_dirs:
        fsync_dir(dest.parent)
        if src.parent != dest.parent:
            fsync_dir(src.parent)


def copy_verified(src: Path, temp: Path, expected_sha: str, expected_size: int) -> None:
    """Copy ``src`` to the new file ``temp``, fsync, and read it back to check size and hash."""
    h = hashlib.sha256()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with open(src, "rb", buffering=0) as fin, os.fdopen(fd, "wb", buffering=0) as fout:
            fd = -1
            while True:
                chunk = fin.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[fout.write(view):]
            os.fsync(fout.fileno())
    except BaseException:
        if fd != -1:
            os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    if h.hexdigest() != expected_sha:
        temp.unlink(missing_ok=True)
        raise VerifyError(f"{src} changed while it was being copied")
    digest, size = sha256_file(temp)
    if (digest, size) != (expected_sha, expected_size):
        temp.unlink(missing_ok=True)
        raise VerifyError(f"copy of {src} does not read back identical")


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
    return dest.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{dest.name}"[:255]
