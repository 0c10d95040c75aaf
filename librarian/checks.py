"""Cheap checks that an image file is whole and decodable, without decoding it in full.

A header parse (Pillow) plus the format's end marker (JPEG EOI, PNG IEND, GIF trailer, WebP's
RIFF length). Only when the end marker is missing — a truncated upload, or a JPEG with a
trailer such as a motion photo's video — is the image decoded, at 1/8 scale, to tell the two
apart. Pixel-count limits are the thumbnailer's business: a huge panorama is a valid original.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image

_TAIL = 64
#: Only images up to this size are decoded (at full size) to tell a missing end marker from damage;
#: JPEGs are decoded at 1/8 scale whatever their size.
_MAX_DECODE_PIXELS = 50_000_000


def _tail(path: Path, n: int = _TAIL) -> bytes:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - n))
        return f.read()


def _end_marker_ok(path: Path, file_type: str) -> bool:
    tail = _tail(path).rstrip(b"\x00\r\n ")
    if file_type == "JPEG":
        return tail.endswith(b"\xff\xd9")
    if file_type == "PNG":
        return b"IEND" in tail[-12:]
    if file_type == "GIF":
        return tail.endswith(b";")
    if file_type == "WEBP":
        with open(path, "rb") as f:
            head = f.read(12)
        declared = int.from_bytes(head[4:8], "little") + 8
        return head[:4] == b"RIFF" and declared <= path.stat().st_size
    return True


def problem(path: Path, file_type: str) -> tuple[str, str] | None:
    """None if the image looks whole, else ``(reason_code, detail)``."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # Pillow's limit is replaced by _MAX_DECODE_PIXELS below
    try:
        return _problem(path, file_type)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _problem(path: Path, file_type: str) -> tuple[str, str] | None:
    whole = _end_marker_ok(path, file_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as im:
                if whole:
                    return None
                if file_type != "JPEG" and im.width * im.height > _MAX_DECODE_PIXELS:
                    # no end marker and too large to decode safely (a bomb must not be decoded here)
                    return "truncated", f"{file_type} file has no end marker ({im.width}x{im.height})"
                im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))  # JPEG: 1/8 scale
                im.load()
        except OSError as exc:
            msg = str(exc)
            if "truncated" in msg.lower() or not whole:
                return "truncated", f"{file_type} file is truncated: {msg}"
            return "undecodable", f"{file_type} cannot be decoded: {msg}"
        except (ValueError, SyntaxError, EOFError) as exc:
            return "undecodable", f"{file_type} cannot be decoded: {exc}"
    return None
