"""RAW files: the camera's embedded JPEG preview, read with ExifTool (never the raw sensor data)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from pathlib import Path

from photo_factory.worker import ItemError

#: Embedded images, best first.
_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")


def embedded_preview(path: Path, exiftool: str = "exiftool",
                     timeout: float = 120.0) -> tuple[io.BytesIO, int]:
    """The largest embedded preview of a RAW file and the RAW's EXIF orientation (1 if none)."""
    argv = [exiftool, "-json", "-b", "-n", "-Orientation", *(f"-{t}" for t in _TAGS), "--", str(path)]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ItemError("tool_timeout", f"exiftool took longer than {timeout:.0f}s", retryable=True) from None
    except FileNotFoundError:
        raise ItemError("tool_missing", f"{exiftool} is not installed", retryable=True) from None
    try:
        info = json.loads(proc.stdout or b"[{}]")[0]
    except (ValueError, IndexError):
        info = {}
    previews = []
    for tag in _TAGS:
        value = info.get(tag)
        if isinstance(value, str) and value.startswith("base64:"):
            previews.append(base64.b64decode(value[len("base64:"):]))
    if not previews:
        raise ItemError("no_embedded_preview", "the RAW file carries no embedded preview image")
    try:
        orient = int(info.get("Orientation") or 1)
    except (TypeError, ValueError):
        orient = 1
    return io.BytesIO(max(previews, key=len)), orient if 1 <= orient <= 8 else 1
