"""Where derivatives go: ``Derivatives/thumbnails/<size>/<library path without Library/>.<ext>``.

The library tree is mirrored and the original's full name kept (``IMG_1.HEIC.jpg`` next to
``IMG_1.MOV.jpg``), so two originals never share a thumbnail.
"""

from __future__ import annotations

from pathlib import PurePosixPath

ROOT = PurePosixPath("Derivatives/thumbnails")


def thumbnail_rel(library_path: str, size: int, ext: str = "jpg") -> PurePosixPath:
    """The thumbnail's path relative to PF_STORAGE_DIR for an asset's ``library_path``."""
    rel = PurePosixPath(library_path)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"library path must be relative and inside the storage: {library_path!r}")
    if rel.parts and rel.parts[0] == "Library":
        rel = PurePosixPath(*rel.parts[1:])
    return ROOT / str(size) / f"{rel}.{ext}"
