"""Metadata from one long-lived ExifTool process (PyExifTool), with Pillow as the fallback.

``MetadataReader.read_many(paths)`` returns ExifTool ``-G -n`` style tag dicts (``"EXIF:Make"``),
one per path, in one ExifTool call per batch. When ExifTool is missing or fails on a file, the
file's tags come from Pillow (EXIF + GPS IFD mapped to the same names) or are left empty, and
``"PF:Reader"`` says which reader produced them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from librarian import early, stayopen

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


#: The tags kept from ExifTool's answer (by name, every group): what the date, GPS and camera rules
#: read, plus what is worth keeping (exposure, lens, software, Live Photo / motion photo identifiers).
#: ExifTool is asked for every tag and the rest is dropped here: given a list, ExifTool matches each
#: requested name against every tag found in the file with a case-insensitive regex (its
#: SetFoundTags), which cost more than the whole extraction — 19.8 M instructions per 12 MP camera
#: JPEG for this list, 11.1 M for everything (34.5 M and 23.2 M for a phone-like MP4); same
#: answer for these names.
TAGS = (
    "FileType", "MIMEType", "Error", "Warning",
    "DateTimeOriginal", "CreateDate", "SubSecTimeOriginal", "OffsetTimeOriginal", "OffsetTimeDigitized",
    "OffsetTime", "CreationDate", "MediaCreateDate", "TrackCreateDate", "ModifyDate", "DateCreated",
    "CreationTime", "GPSDateTime", "GPSLatitude", "GPSLongitude", "GPSAltitude",
    "Make", "Model", "AndroidMake", "AndroidModel", "LensModel", "Software",
    "ImageSize", "ImageWidth", "ImageHeight", "ExifImageWidth", "ExifImageHeight", "Orientation",
    "Rotation", "Duration", "VideoFrameRate", "ExposureTime", "FNumber", "ISO", "FocalLength",
    "ImageUniqueID", "ContentIdentifier", "MediaGroupUUID", "BurstUUID", "MotionPhoto", "MicroVideo",
)


#: What XMP sidecars (and photos that embed XMP) say beyond dates and GPS (librarian/sidecar_meta.py).
SIDECAR_TAGS = ("Title", "Description", "Rating", "Label", "Subject", "Keywords", "PersonInImage")
_KEPT = frozenset(TAGS + SIDECAR_TAGS)


def _kept(answer: dict[str, Any]) -> dict[str, Any]:
    """The :data:`TAGS` and :data:`SIDECAR_TAGS` of one file's ``-G`` answer (``"EXIF:Make"``)."""
    return {k: v for k, v in answer.items() if k.partition(":")[2] in _KEPT}


class MetadataReader:
    """Long-lived ``exiftool -stay_open`` processes (one per reader thread), restarted if they die.

    :meth:`submit` queues a list of files and returns a future of their tags, so a caller can
    read the next files while it processes the current ones; ``processes`` lists are read side by
    side (ExifTool is single-threaded Perl).

    Never a hang: a call that takes longer than ``timeout_s`` (per 8 files) is killed, a process
    that died is noticed at once; the call is retried once on a fresh process, then file by file,
    and a file that still fails gets Pillow's tags (or none: the file time then dates it) with
    ``PF:ReaderProblem`` saying why. When ``stop`` is set, a running call is abandoned and
    :class:`stayopen.ExifToolFailed` (``tool_stopped``) is raised instead of falling back.
    Never an injection: see :class:`stayopen.Aliases`.
    """

    def __init__(self, executable: str = "exiftool", processes: int = 2, *, timeout_s: float = 60.0,
                 stop: threading.Event | None = None):
        self.executable = executable
        self.processes = max(1, processes)
        self.timeout_s = timeout_s
        self.stop = stop or threading.Event()
        self._closing = threading.Event()
        self.available = shutil.which(executable) is not None
        self.aliases = stayopen.Aliases()
        #: what went wrong with ExifTool last (for the heartbeat), and when (monotonic)
        self.last_problem: str | None = None
        self.last_problem_at: float | None = None
        self.restarts = 0
        #: called after every finished ExifTool call (the service's progress mark)
        self.on_progress: Callable[[], None] | None = None
        self._local = threading.local()
        self._all: list[stayopen.BoundedExifTool] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        if not self.available:
            log.warning("exiftool not found (%s): falling back to Pillow and file times", executable)

    def _et(self) -> stayopen.BoundedExifTool:
        et = getattr(self._local, "et", None)
        if et is None or not et.running:
            if et is not None:  # died between two calls
                self._problem(stayopen.ExifToolFailed("tool_died", "exiftool died between two calls"))
            if self._stopping():
                raise stayopen.ExifToolFailed("tool_stopped", "not starting exiftool: the service is stopping")
            et = stayopen.BoundedExifTool(executable=self.executable, common_args=list(early.COMMON_ARGS),
                                         stopping=self._stopping)
            et.timeout_s = max(self.timeout_s, 30.0)  # the start-up version check (Perl loading)
            try:
                et.run()
            except stayopen.ExifToolFailed:
                raise
            except Exception as exc:  # did not start: missing, broken install, version check
                raise stayopen.ExifToolFailed("tool_died", f"exiftool did not start: {exc}") from exc
            self._local.et = et
            with self._lock:
                self._all.append(et)
        return et

    def _drop(self) -> None:
        et = getattr(self._local, "et", None)
        self._local.et = None
        if et is not None:
            with self._lock:
                if et in self._all:
                    self._all.remove(et)
            et.kill()

    def _stopping(self) -> bool:
        return self.stop.is_set() or self._closing.is_set()

    def close(self) -> None:
        """Stop every ExifTool process (killed, not asked: a stalled one would not answer)."""
        self._closing.set()
        with self._lock:
            procs, self._all = self._all, []
        for et in procs:
            et.kill()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._local = threading.local()
        self.aliases.close()
        early.discard()  # started ahead for a batch that never came
        stayopen.forget_read_ahead()
        self._closing.clear()  # usable again (a new process starts on the next read)

    def pids(self) -> list[int]:
        """Pids of the running ExifTool processes (tests and diagnostics)."""
        with self._lock:
            return [et.pid for et in self._all if et.pid is not None]

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
        problems: dict[int, str] = {}
        if self.available and paths:
            self._read_retrying(paths, results, problems)
        for i, p in enumerate(paths):
            if results[i] is None:
                results[i] = pillow_tags(p)
                if i in problems:
                    results[i] = {**(results[i] or {}), "PF:ReaderProblem": problems[i]}
        return [r or {} for r in results]

    def _read_retrying(self, paths: list[Path], results: list[dict[str, Any] | None],
                       problems: dict[int, str]) -> None:
        """The whole list, once more on a fresh process, then file by file; what still fails is
        left None with its reason in ``problems``. A stop request propagates."""
        for attempt in (1, 2):
            try:
                self._read_exiftool(paths, results)
                return
            except stayopen.ExifToolFailed as exc:
                if exc.reason == "tool_stopped":
                    raise
                self._problem(exc, len(paths), attempt)
                last = exc
        if len(paths) == 1:
            problems[0] = f"exiftool {last.reason}: {last.detail}; read with Pillow"
            return
        for i, p in enumerate(paths):  # isolate the culprit: each file alone
            sub: list[dict[str, Any] | None] = [None]
            try:
                self._read_exiftool([p], sub)
                results[i] = sub[0]
            except stayopen.ExifToolFailed as exc:
                if exc.reason == "tool_stopped":
                    raise
                self._problem(exc, 1, 3)
                problems[i] = f"exiftool {exc.reason}: {exc.detail}; read with Pillow"

    def _problem(self, exc: stayopen.ExifToolFailed, n: int = 0, attempt: int = 0) -> None:
        self._drop()
        self.restarts += 1
        self.last_problem, self.last_problem_at = f"exiftool {exc.reason}: {exc.detail}", time.monotonic()
        where = f" on {n} file(s), attempt {attempt}" if n else ""
        log.warning("exiftool failed%s (%s: %s); restarting it", where, exc.reason, exc.detail)

    def _read_exiftool(self, paths: Sequence[Path], results: list[dict[str, Any] | None]) -> None:
        # every name ExifTool could misread becomes a generated alias (stayopen.Aliases)
        args: list[bytes] = []
        aliases: list[bytes | None] = []
        try:
            for i, p in enumerate(paths):
                if self.available:  # read ahead by the process started first (early.py)?
                    early.arrive(p, self._fetch_ahead)
                ahead = early.answer_for(p)
                if ahead is not None and _is_jpeg(ahead):
                    results[i] = {**_kept(with_composites(ahead)), "PF:Reader": "exiftool"}
                    args.append(b"")
                    aliases.append(None)
                    continue
                try:
                    arg, alias = self.aliases.arg_for(p)
                except OSError as exc:
                    log.warning("no safe ExifTool name for %r (%s): read with Pillow", p, exc)
                    arg, alias = b"", None
                args.append(arg)
                aliases.append(alias)
            # JPEGs without ExifTool's Composite tags (half its time per file), made here instead
            plain = [a for p, a in zip(paths, args, strict=True) if a and _composites_here(p)]
            full = [a for p, a in zip(paths, args, strict=True) if a and not _composites_here(p)]
            if not plain and not full:
                return
            et = self._et()
            by_name: dict[bytes, dict[str, Any]] = {}
            for options, todo in (([b"-e"], plain), ([], full)):
                if todo:
                    for answer in self._call(et, options, todo):
                        name = os.fsencode(os.path.normpath(answer.get("SourceFile", "")))
                        if options and not _is_jpeg(answer):
                            full.append(name)  # named .jpg, not a JPEG: read whole on the next pass
                            continue
                        by_name[name] = with_composites(answer) if options else answer
        finally:
            for alias in aliases:
                self.aliases.drop(alias)
        for i, arg in enumerate(args):
            d = by_name.get(os.path.normpath(arg)) if arg else None
            if d is not None:
                d = _kept(d)
                d["PF:Reader"] = "exiftool"
                results[i] = d
        if self.on_progress is not None:
            self.on_progress()

    def _fetch_ahead(self, proc: subprocess.Popen, seq: int, n: int) -> bytes:
        """A read-ahead answer from the pipe of the process started ahead (:func:`early.arrive`),
        with the deadline of a call of ``n`` files (at least the start-up's: it may still be
        loading Perl)."""
        timeout_s = max(self.timeout_s * max(1.0, n / 8), 30.0)
        try:
            return stayopen.read_ahead_answer(proc, seq, timeout_s, self._stopping)
        except BaseException:
            stayopen.forget_read_ahead(proc)  # (early.arrive kills it)
            raise

    def _call(self, et: stayopen.BoundedExifTool, options: list[bytes], todo: list[bytes]) -> list[dict[str, Any]]:
        """One ExifTool call: its JSON answer, one dict per file it could read."""
        et.timeout_s = self.timeout_s * max(1.0, len(todo) / 8)
        # no "--": ExifTool appends -common_args after the file names, so they would become
        # names; an absolute path cannot start with "-" anyway
        raw = et.execute(*options, *todo, raw_bytes=True)
        assert isinstance(raw, bytes)
        text = raw.decode("utf-8", errors="surrogateescape")
        try:
            return json.loads(text) if text.strip() else []
        except ValueError as exc:
            self._drop()
            raise stayopen.ExifToolFailed("tool_failed", f"exiftool answered no JSON: {exc}") from None


#: Extensions read without ExifTool's Composite tags (``-e``): building them walks every Composite
#: definition of every loaded module for each file, ~45 % of ExifTool's time for a camera JPEG.
#: The few the librarian reads are made by :func:`with_composites`, by ExifTool's own rules for
#: what a JPEG holds; other types keep ExifTool's (RAW sizes, video durations and rotations
#: follow format-specific rules not worth copying).
_PLAIN_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe"})


def _composites_here(path: Path) -> bool:
    return path.suffix.lower() in _PLAIN_EXTENSIONS


def _is_jpeg(answer: dict[str, Any]) -> bool:
    """Whether an ``-e`` answer is a JPEG's, the only type :func:`with_composites` makes every
    Composite tag for (a ``.jpg`` that is an AVI or a GIF needs ExifTool's: duration, size)."""
    return answer.get("File:FileType") == "JPEG"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or \
        isinstance(v, str) and _float(v) is not None and v.strip() == v and " " not in v


def with_composites(tags: dict[str, Any]) -> dict[str, Any]:
    """``tags`` (an ``-e -n -G`` answer) plus the Composite tags the librarian reads, made as
    ExifTool 12.57 makes them (GPS.pm, Exif.pm, QuickTime.pm): ImageSize, GPSLatitude,
    GPSLongitude, GPSAltitude, GPSDateTime, DateTimeOriginal (from IPTC). A tag ExifTool would
    not make is not made."""
    out = dict(tags)
    w, h = tags.get("File:ImageWidth"), tags.get("File:ImageHeight")
    if w is None or h is None:  # not a JPEG after all: the priority ImageWidth of the others
        w = _first(tags, "EXIF:ImageWidth", "QuickTime:ImageWidth", "PNG:ImageWidth", "RIFF:ImageWidth")
        h = _first(tags, "EXIF:ImageHeight", "QuickTime:ImageHeight", "PNG:ImageHeight", "RIFF:ImageHeight")
    if _is_number(w) and _is_number(h):
        out["Composite:ImageSize"] = f"{w} {h}"
    coords = str(tags.get("QuickTime:GPSCoordinates") or "").split()
    for name, ref, negative, index in (("GPSLatitude", "EXIF:GPSLatitudeRef", "S", 0),
                                       ("GPSLongitude", "EXIF:GPSLongitudeRef", "W", 1)):
        value = tags.get(f"EXIF:{name}")
        if value is not None and tags.get(ref) is not None:
            neg = str(tags[ref])[:1].upper() == negative
            out[f"Composite:{name}"] = -value if neg and isinstance(value, (int, float)) else value
        elif len(coords) > index:
            out[f"Composite:{name}"] = _number(coords[index])
    altitude = _altitude(tags)
    if altitude is not None:
        out["Composite:GPSAltitude"] = altitude
    elif len(coords) > 2:
        out["Composite:GPSAltitude"] = abs(_number(coords[2]))  # type: ignore[arg-type]
    day, time_ = tags.get("EXIF:GPSDateStamp"), tags.get("EXIF:GPSTimeStamp")
    if day is not None and time_ is not None:
        out["Composite:GPSDateTime"] = f"{day} {time_}Z"
    original = _iptc_date_time_original(tags)
    if original is not None:
        out["Composite:DateTimeOriginal"] = original
    return out


def _iptc_date_time_original(tags: Mapping[str, Any]) -> str | None:
    """Exif.pm's Composite:DateTimeOriginal, for files without a DateTimeOriginal tag of their own
    (editors and scanners that write IPTC only): DateCreated (IPTC, else XMP) and IPTC
    TimeCreated, both true in Perl's sense, joined by a space (with IPTC's date this is IPTC.pm's
    DateTimeCreated, which ExifTool prefers: the same text)."""
    if any(k.endswith(":DateTimeOriginal") for k in tags):
        return None
    day = tags.get("IPTC:DateCreated", tags.get("XMP:DateCreated"))
    time_ = tags.get("IPTC:TimeCreated")
    if day in (None, "", "0", 0) or time_ in (None, "", "0", 0):
        return None
    return f"{day} {time_}"


def _altitude(tags: Mapping[str, Any]) -> Any:
    """GPS.pm's Composite:GPSAltitude: EXIF, else XMP, each only with its reference."""
    if tags.get("EXIF:GPSAltitudeRef") is None and tags.get("XMP:GPSAltitudeRef") is None:
        return None
    for group in ("EXIF", "XMP"):
        value, ref = tags.get(f"{group}:GPSAltitude"), tags.get(f"{group}:GPSAltitudeRef")
        if value is None or ref is None or not _is_number(value):
            continue
        below = ref not in (0, "0", "", 0.0)
        return -abs(_number(value)) if below else value  # type: ignore[arg-type]
    return None


def _number(text: Any) -> int | float | str:
    """A number as ExifTool's JSON writes it (an integer stays an integer)."""
    try:
        return int(text)
    except (TypeError, ValueError):
        try:
            return float(text)
        except (TypeError, ValueError):
            return str(text)


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
