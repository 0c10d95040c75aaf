"""Is an inbox file whole, and can its image be decoded? Decided with bounded memory.

1. Completeness (librarian/completeness.py): the container's own structure says where the file
   ends; a file whose structure runs past its end is *incomplete* (the caller waits for the rest).
2. A header parse (Pillow, pillow-heif) for every image type.
3. A decode, only where it tells something the structure cannot: when the walk could not vouch
   for the file and it has no end marker (damage or a trailer?). A HEIC whose boxes and item
   extents (every tile) are inside the file is not decoded: libheif needs seconds for a 12 MP
   image on a small server, the thumbnailer decodes it anyway and fails it visibly if a tile is
   damaged. Before decoding, the cost is planned from the header
   (photo_factory/decoding.py: a progressive JPEG needs whole-image coefficient buffers even at
   1/8 scale); an image over the budget is not decoded here — its structure decides, and a huge
   valid panorama is filed (pixel limits are the thumbnailer's business).
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from librarian import completeness
from photo_factory import decoding

log = logging.getLogger(__name__)

#: Image types whose header (and, where it helps, pixels) the librarian checks.
DECODE_CHECKED = {"JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "HEIC", "HEIF", "AVIF"}
_TAIL = 64
_HEIF = {"HEIC", "HEIF", "AVIF"}


@dataclass(frozen=True)
class Finding:
    #: what is missing when the file ends early: wait for the rest (not a verdict yet)
    incomplete: str | None = None
    #: ``(reason_code, detail)``: quarantine now
    problem: tuple[str, str] | None = None
    #: only a motion photo's video is missing: once the wait is over, :func:`examine_still`
    #: judges the (whole) photo, which is filed; the thumbnails stage records the cut video
    still_whole: bool = False


def examine(path: Path, file_type: str, budget_bytes: int) -> Finding:
    """Completeness first, then (for images) a header parse and, where useful, a bounded decode."""
    kind = file_type.upper()
    whole, detail = completeness.state(path, kind)
    if whole is False:
        return Finding(incomplete=detail, still_whole=completeness.only_video_cut(detail))
    if kind not in DECODE_CHECKED:
        return Finding()
    return Finding(problem=_problem(path, kind, whole is True, budget_bytes))


def examine_still(path: Path, file_type: str, budget_bytes: int) -> Finding:
    """The photo of a motion photo whose video is cut: its structure vouched for up to its EOI."""
    return Finding(problem=_problem(path, file_type.upper(), True, budget_bytes))


def problem(path: Path, file_type: str, budget_bytes: int = 256 << 20) -> tuple[str, str] | None:
    """``(reason_code, detail)`` for a file to quarantine now (an incomplete one is ``truncated``)."""
    found = examine(path, file_type, budget_bytes)
    if found.incomplete:
        return "truncated", found.incomplete
    return found.problem


def _tail_ok(path: Path, kind: str) -> bool:
    """The old end-marker test, for files whose structure could not be walked."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - _TAIL))
        tail = f.read().rstrip(b"\x00\r\n ")
    if kind == "JPEG":
        return tail.endswith(b"\xff\xd9")
    if kind == "PNG":
        return b"IEND" in tail[-12:]
    if kind == "GIF":
        return tail.endswith(b";")
    return kind in ("TIFF", "BMP")  # no end marker to look for: a malformed HEIC/WebP is decoded


@functools.cache
def _heif_opener() -> None:
    """Pillow opens HEIF/AVIF once pillow-heif is registered: imported on the first such file
    (importing it costs every start, most of whose files are JPEGs, a few tens of milliseconds)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _problem(path: Path, kind: str, vouched: bool, budget_bytes: int) -> tuple[str, str] | None:
    if kind in _HEIF:
        _heif_opener()
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # replaced by the decode plan's budget
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _open_and_decode(path, kind, vouched, budget_bytes)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _open_and_decode(path: Path, kind: str, vouched: bool, budget_bytes: int) -> tuple[str, str] | None:
    whole = vouched or _tail_ok(path, kind)
    opening = decoding.open_cost(path)
    if opening is not None and opening.over(budget_bytes):
        if whole:
            log.info("%s: not opened by the check: %s", path.name, opening.over(budget_bytes))
            return None
        return "truncated", f"{kind} file has no end marker; {opening.over(budget_bytes)}"
    try:
        with Image.open(path) as im:
            if whole:
                return None
            plan = decoding.plan(im, path)
            over = plan.over(budget_bytes)
            if over:
                if whole:
                    log.info("%s: not decoded by the check: %s", path.name, over)
                    return None
                return "truncated", f"{kind} file has no end marker; {over}"
            if plan.scale > 1:
                im.draft(None, (max(1, im.width // plan.scale), max(1, im.height // plan.scale)))
            im.load()
    except MemoryError:
        return "undecodable", f"{kind}: out of memory while decoding"
    except OSError as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or not whole:
            return "truncated", f"{kind} file is truncated: {msg}"
        return "undecodable", f"{kind} cannot be decoded: {msg}"
    except (ValueError, SyntaxError, EOFError, RuntimeError) as exc:
        return "undecodable", f"{kind} cannot be decoded: {exc}"
    return None
