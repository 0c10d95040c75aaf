"""Re-registering an original found on the remote but absent from the restored dump.

Such a file was backed up after the dump was taken: a restore must not lose it. It is read and
recorded like a fresh ingest by the librarian's own reader when available
(``librarian.ingest.register_existing``); otherwise a minimal row is made from the file itself
(SHA-256, size, type from the extension, capture day from its library folder), recorded with
``date_source = 'library_folder'`` so it is visible as such, and an ``ingest_events`` row.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
from datetime import date
from pathlib import Path

from processor.backup import dumps
from processor.backup.selection import folder_day
from processor.backup.store import RestoreStore

log = logging.getLogger(__name__)

_RAW = {".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".pef", ".srw"}


def register_original(database_url: str, storage_dir: Path, library_path: str) -> int | None:
    """Register ``storage_dir/library_path`` in the database; return the new asset id or None."""
    hook = _librarian_hook()
    if hook is not None:
        return hook(database_url, storage_dir, library_path)
    return _register_minimal(database_url, storage_dir, library_path)


def _librarian_hook():  # -> Callable[[str, Path, str], int | None] | None
    try:
        module = importlib.import_module("librarian.ingest")
    except ImportError:
        return None
    return getattr(module, "register_existing", None)


def _register_minimal(database_url: str, storage_dir: Path, library_path: str) -> int | None:
    path = storage_dir / library_path
    ext = path.suffix.lower()
    mime = mimetypes.guess_type(path.name)[0] or ""
    media_type = "raw" if ext in _RAW else "video" if mime.startswith("video/") else "image"
    day = folder_day(library_path) or date.fromtimestamp(path.stat().st_mtime)
    store = RestoreStore(database_url)
    try:
        asset_id = store.register_minimal(
            sha256=dumps.sha256_file(path),
            library_path=library_path,
            original_name=path.name,
            size_bytes=path.stat().st_size,
            media_type=media_type,
            capture_date=day,
            metadata={"registered_by": "restore", "note": "newer than the restored dump"},
        )
    finally:
        store.close()
    if asset_id is None:
        log.warning("%s: not registered (same content or path already in the database)", library_path)
    return asset_id
