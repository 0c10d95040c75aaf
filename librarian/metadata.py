"""Metadata from one long-lived ExifTool process (PyExifTool), with Pillow as the fallback.

``MetadataReader.read_many(paths)`` returns ExifTool ``-G -n`` style tag dicts (``"EXIF:Make"``),
one per path, in one ExifTool call per batch. When ExifTool is missing or fails on a file, the
file's tags come from Pillow (EXIF + GPS IFD mapped to the same names) or are left empty, and
``"PF:Reader"`` says which reader produced them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import threading
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
# PyExifTool warns from __del__ about processes this module already terminated cleanly.
warnings.filterwarnings("ignore", message="ExifTool not running; doing nothing", category=UserWarning)
warnings.filterwarnings("ignore", message="ExifTool process was previously running but died", category=UserWarning)

# Groups kept in media_assets.metadata (the rest — maker notes, ICC profiles, thumbnails — is
# dropped to keep rows small). Values longer than this are dropped too.
_KEEP_GROUPS = ("EXIF", "XMP", "QuickTime", "Composite", "File", "PNG", "RIFF", "Matroska", "IPTC", "JFIF")
_MAX_VALUE_LEN = 256
_DROP_TAGS = {"File:Directory", "File:FileName", "File:FilePermissions", "File:FileAccessDate",
              "File:FileInodeChangeDate", "File:FileModifyDate", "SourceFile", "ExifTool:ExifToolVersion"}


#: The tags ExifTool is asked for (by name, every group). Asking for a list instead of everything
#: halves ExifTool's time per file; these are what the date, GPS and camera rules read, plus what
#: is worth keeping (exposure, lens, software, Live Photo / motion photo identifiers).
TAGS = (
    "FileType", "MIMEType", "Error", "Warning",
    "DateTimeOriginal", "CreateDate", "SubSecTimeOriginal", "OffsetTimeOriginal", "OffsetTimeDigitized",
    "OffsetTime", "CreationDate", "MediaCreateDate", "TrackCreateDate", "ModifyDate", "DateCreated",
    "CreationTime", "GPSDateTime", "GPSLatitude", "GPSLongitude", "GPSAltitude",
    "Make", "Model", "AndroidMake", "AndroidModel", "LensModel", "Software",
    "ImageSize", "ImageWidth", "ImageHeight", "ExifImageWidth", "ExifImageHeight", "Orientation",
    "Rotation", "Duration", "VideoFrameRate", "ExposureTime", "FNumber", "ISO", "FocalLength",
    "ImageUniqueID", "ContentIdentifier", "MediaGroupUUID", "MotionPhoto", "MicroVideo",
)


_TAG_ARGS = tuple(f"-{t}".encode() for t in TAGS)


class MetadataReader:
    """Long-lived ``exiftool -stay_open`` processes (one per reader thread), restarted if they die.

    :meth:`submit` queues a list of files and returns a future of their tags, so a caller can
    read the next files while it processes the current ones; ``processes`` lists are read side by
    side (ExifTool is single-threaded Perl).
    """

    def __init__(self, executable: str = "exiftool", processes: int = 2):
        self.executable = executable
        self.processes = max(1, processes)
        self.available = shutil.which(executable) is not None
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        if not self.available:
            log.warning("exiftool not found (%s): falling back to Pillow and file times", executable)

    def _et(self) -> Any:
        et = getattr(self._local, "et", None)
        if et is None:
            import exiftool  # PyExifTool

            # LargeFileSupport: videos over 2 GB (4K phone clips) are read whole
            args = ["-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1"]
            et = exiftool.ExifTool(executable=self.executable, common_args=args)
            et.run()
            self._local.et = et
            with self._lock:
                self._all.append(et)
        return et

    def _drop(self) -> None:
        et = getattr(self._local, "et", None)
        self._local.et = None
        if et is not None:
            with self._lock:
                self._all.remove(et)
            with contextlib.suppress(Exception):  # already dead
                et.terminate()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            for et in self._all:
                with contextlib.suppress(Exception):
                    et.terminate()
            self._all = []
        self._local = threading.local()

    def submit(self, paths: Sequence[Path]) -> Future[list[dict[str, Any]]]:
        """Read ``paths`` in a reader thread; the future gives one tag dict per path, in order."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.processes, thread_name_prefix="exiftool")
        return self._pool.submit(self._read, list(paths))

    def read_many(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        if not paths:
            return []
        if self.processes == 1 or len(paths) < 8:
            return self.submit(paths).result()
        futures = [self.submit(paths[i::self.processes]) for i in range(self.processes)]
        parts = [f.result() for f in futures]
        out: list[dict[str, Any]] = [{}] * len(paths)
        for i, part in enumerate(parts):
            out[i::self.processes] = part
        return out

    def _read(self, paths: list[Path]) -> list[dict[str, Any]]:
        results: list[dict[str, Any] | None] = [None] * len(paths)
        if self.available and paths:
            try:
                self._read_exiftool(paths, results)
            except Exception as exc:  # a dead or confused exiftool: restart, isolate the culprit
                log.warning("exiftool failed on a batch of %d (%s); reading them one by one", len(paths), exc)
                self._drop()
                if len(paths) > 1:
                    for i, p in enumerate(paths):
                        results[i] = self._read([p])[0]
        for i, p in enumerate(paths):
            if results[i] is None:
                results[i] = pillow_tags(p)
        return [r or {} for r in results]

    def _read_exiftool(self, paths: Sequence[Path], results: list[dict[str, Any] | None]) -> None:
        # bytes in, bytes out: file names need not be valid UTF-8 (old cameras, SMB shares)
        args = [os.fsencode(p) for p in paths]
        raw = self._et().execute(*_TAG_ARGS, *args, raw_bytes=True).decode("utf-8", errors="surrogateescape")
        data = json.loads(raw) if raw and raw.strip() else []
        by_name = {os.path.normpath(d.get("SourceFile", "")): d for d in data}
        for i, arg in enumerate(args):
            d = by_name.get(os.path.normpath(os.fsdecode(arg)))
            if d is None and len(data) == len(args):
                d = data[i]  # names ExifTool could not echo back exactly: same order
            if d is not None:
                d["PF:Reader"] = "exiftool"
                results[i] = d


def pillow_tags(path: Path) -> dict[str, Any] | None:
    """Minimal ExifTool-compatible tags read with Pillow (dates, offsets, camera, size, GPS)."""
    try:
        from PIL import ExifTags, Image

        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # pragma: no cover - optional
            pass
        with Image.open(path) as im:
            tags: dict[str, Any] = {"PF:Reader": "pillow", "File:FileType": (im.format or "").upper(),
                                    "File:MIMEType": Image.MIME.get(im.format or "", None),
                                    "Composite:ImageSize": f"{im.width} {im.height}"}
            exif = im.getexif()
            names = {
                ExifTags.Base.Make: "EXIF:Make", ExifTags.Base.Model: "EXIF:Model",
                ExifTags.Base.Orientation: "EXIF:Orientation", ExifTags.Base.DateTime: "EXIF:ModifyDate",
            }
            for key, name in names.items():
                if key in exif:
                    tags[name] = exif[key]
            sub = exif.get_ifd(ExifTags.IFD.Exif)
            for key, name in {
                ExifTags.Base.DateTimeOriginal: "EXIF:DateTimeOriginal",
                ExifTags.Base.DateTimeDigitized: "EXIF:CreateDate",
                ExifTags.Base.OffsetTimeOriginal: "EXIF:OffsetTimeOriginal",
                ExifTags.Base.OffsetTimeDigitized: "EXIF:OffsetTimeDigitized",
                ExifTags.Base.OffsetTime: "EXIF:OffsetTime",
            }.items():
                if key in sub:
                    tags[name] = sub[key]
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            lat = _dms(gps.get(2), gps.get(1), "S")
            lon = _dms(gps.get(4), gps.get(3), "W")
            if lat is not None and lon is not None:
                tags["Composite:GPSLatitude"], tags["Composite:GPSLongitude"] = lat, lon
            return tags
    except Exception as exc:
        log.debug("pillow could not read %s: %s", path, exc)
        return None


def _dms(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    deg = d + m / 60 + s / 3600
    return -deg if str(ref).upper().startswith(negative) else deg


@dataclass(frozen=True)
class Basics:
    file_type: str | None
    mime_type: str | None
    camera_make: str | None
    camera_model: str | None
    width: int | None
    height: int | None
    orientation: int | None
    duration_s: float | None
    location: dict[str, float] | None
    error: str | None


def _first(tags: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        v = tags.get(n)
        if v not in (None, "", "Unknown"):
            return v
    return None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip().strip("\x00").strip()
    return s[:200] or None


def _int(v: Any) -> int | None:
    try:
        i = int(float(v))
    except (TypeError, ValueError):
        return None
    return i if 0 < i < 10_000_000 else None


def _size(tags: Mapping[str, Any]) -> tuple[int | None, int | None]:
    size = tags.get("Composite:ImageSize")
    if isinstance(size, str):
        parts = size.replace("x", " ").split()
        if len(parts) == 2:
            return _int(parts[0]), _int(parts[1])
    w = _first(tags, "File:ImageWidth", "EXIF:ExifImageWidth", "PNG:ImageWidth", "QuickTime:ImageWidth",
               "EXIF:ImageWidth", "RIFF:ImageWidth", "Matroska:ImageWidth")
    h = _first(tags, "File:ImageHeight", "EXIF:ExifImageHeight", "PNG:ImageHeight", "QuickTime:ImageHeight",
               "EXIF:ImageHeight", "RIFF:ImageHeight", "Matroska:ImageHeight")
    return _int(w), _int(h)


def location(tags: Mapping[str, Any]) -> dict[str, float] | None:
    """Signed decimal degrees; None for missing, out-of-range, non-numeric or the bogus 0/0."""
    lat = _float(_first(tags, "Composite:GPSLatitude", "XMP:GPSLatitude"))
    lon = _float(_first(tags, "Composite:GPSLongitude", "XMP:GPSLongitude"))
    if lat is None or lon is None:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        return None
    loc = {"lat": round(lat, 7), "lon": round(lon, 7)}
    alt = _float(_first(tags, "Composite:GPSAltitude", "XMP:GPSAltitude"))
    if alt is not None and -1000 <= alt <= 100_000:
        loc["alt"] = round(alt, 2)
    return loc


def _float(v: Any) -> float | None:
    if isinstance(v, str):
        v = v.strip().split()[0] if v.strip() else None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def basics(tags: Mapping[str, Any]) -> Basics:
    width, height = _size(tags)
    orientation = _int(tags.get("EXIF:Orientation"))
    duration = _float(_first(tags, "QuickTime:Duration", "Composite:Duration", "Matroska:Duration",
                             "RIFF:Duration"))
    return Basics(
        file_type=_text(tags.get("File:FileType")),
        mime_type=_text(tags.get("File:MIMEType")),
        camera_make=_text(_first(tags, "EXIF:Make", "QuickTime:Make", "XMP:Make", "QuickTime:AndroidMake")),
        camera_model=_text(_first(tags, "EXIF:Model", "QuickTime:Model", "XMP:Model", "QuickTime:AndroidModel")),
        width=width,
        height=height,
        orientation=orientation if orientation and 1 <= orientation <= 8 else None,
        duration_s=duration if duration is not None and duration >= 0 else None,
        location=location(tags),
        error=_text(tags.get("ExifTool:Error")),
    )


def curated(tags: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of tags kept in the database (small, JSON-safe)."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if key in _DROP_TAGS or not key.startswith(_KEEP_GROUPS + ("PF:", "ExifTool:")):
            continue
        if isinstance(value, str):
            if len(value) > _MAX_VALUE_LEN or "\x00" in value or value.startswith("(Binary data"):
                continue
        elif isinstance(value, float) and not math.isfinite(value):
            continue
        elif not isinstance(value, (int, float, bool)):
            value = str(value)
            if len(value) > _MAX_VALUE_LEN:
                continue
        out[key] = value
    return out
