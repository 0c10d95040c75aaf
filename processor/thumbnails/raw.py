"""RAW files: the camera's embedded JPEG preview, read with ExifTool (never the raw sensor data)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from photo_factory import tools
from photo_factory.worker import ItemError

#: Embedded images, best first.
_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")


def embedded_preview(path: Path, exiftool: str = "exiftool",
                     timeout: float = 120.0) -> tuple[io.BytesIO, int]:
    """The largest embedded preview of a RAW file and the RAW's EXIF orientation (1 if none)."""
    # a command-line argument (not -stay_open): any byte but NUL is safe; "--" and an absolute
    # path keep it a file name
    argv = [exiftool, "-json", "-b", "-n", "-Orientation", *(f"-{t}" for t in _TAGS), "--", tools.input_path(path)]
    try:
        proc = tools.run(argv, timeout=timeout, what="exiftool")
    except tools.ToolError as exc:
        raise ItemError(exc.reason, exc.detail, retryable=True) from None
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
