"""Re-registering an original found on the remote but absent from the restored dump.

Such a file was backed up after the dump was taken: a restore must not lose it. It is read and
recorded like a fresh ingest by the librarian's own reader when available
(``librarian.ingest.Ingestor.register_library_file``); otherwise a minimal row is made from the file itself
(SHA-256, size, type from the extension, capture day from its library folder), recorded with
``date_source = 'library_folder'`` so it is visible as such, and an ``ingest_events`` row.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
from datetime import date
from pathlib import Path

from photo_factory import files
from processor.backup.selection import folder_day
from processor.backup.store import RestoreStore

log = logging.getLogger(__name__)

_RAW = {".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".pef", ".srw"}


def register_originals(database_url: str, storage_dir: Path, library_paths: list[str]) -> list[str]:
    """Register each ``storage_dir/library_path`` like a fresh ingest; return those registered.

    A path whose content is already recorded (same SHA-256 under another path) is not
    registered and is logged. Registered rows are marked backed up: they came from the remote.
    """
    if not library_paths:
        return []
    register = _librarian_registrar(database_url, storage_dir)
    store = RestoreStore(database_url)
    done: list[str] = []
    try:
        for rel in library_paths:
            asset_id = register(rel) if register else _register_minimal(store, storage_dir, rel)
            if asset_id is None:
                log.warning("%s: not registered (its content or path is already in the database)", rel)
                continue
            store.mark_path_backed_up(rel, files.sha256_file(storage_dir / rel)[0])
            done.append(rel)
            log.info("asset %s: registered %s (on the remote, newer than the dump)", asset_id, rel)
    finally:
        store.close()
        if register is not None:
            register.close()  # type: ignore[attr-defined]
    return done


class _LibrarianRegistrar:
    """The librarian's own reader and recorder (one ExifTool process for all files)."""

    def __init__(self, database_url: str, storage_dir: Path):
        from librarian import metadata
        from librarian.ingest import Ingestor
        from librarian.settings import LibrarianSettings
        from librarian.store import LibrarianStore
        from photo_factory.settings import CoreSettings

        core = CoreSettings(database_url=database_url, storage_dir=storage_dir)
        settings = LibrarianSettings()
        self.store = LibrarianStore(database_url)
        self.reader = metadata.MetadataReader(settings.exiftool_path)
        self.ingestor = Ingestor(core, settings, self.store, self.reader)
        self.storage = core.storage_dir.resolve()

    def __call__(self, library_path: str) -> int | None:
        return self.ingestor.register_library_file(self.storage / library_path, event="registered_orphan")

    def close(self) -> None:
        self.reader.close()
        self.store.close()


def _librarian_registrar(database_url: str, storage_dir: Path) -> _LibrarianRegistrar | None:
    try:
        importlib.import_module("librarian.ingest")
    except ImportError:
        log.warning("librarian not installed: re-registering with the minimal reader")
        return None
    return _LibrarianRegistrar(database_url, storage_dir)


def _register_minimal(store: RestoreStore, storage_dir: Path, library_path: str) -> int | None:
    path = storage_dir / library_path
    ext = path.suffix.lower()
    mime = mimetypes.guess_type(path.name)[0] or ""
    media_type = "raw" if ext in _RAW else "video" if mime.startswith("video/") else "image"
    day = folder_day(library_path) or date.fromtimestamp(path.stat().st_mtime)
    return store.register_minimal(
        sha256=files.sha256_file(path)[0],
        library_path=library_path,
        original_name=path.name,
        size_bytes=path.stat().st_size,
        media_type=media_type,
        capture_date=day,
        metadata={"registered_by": "restore", "note": "newer than the restored dump"},
    )
