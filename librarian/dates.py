"""Capture date and timezone from metadata, by a fixed order of sources.

Order (the first plausible one wins; its tag name is recorded as ``date_source``):

1. ``DateTimeOriginal`` (EXIF, then XMP), with ``OffsetTimeOriginal``/``OffsetTime`` when present;
2. ``CreateDate`` (EXIF ``DateTimeDigitized``, then XMP), with ``OffsetTimeDigitized``/``OffsetTime``;
3. Apple's ``QuickTime:CreationDate`` (local time *with* offset), then the QuickTime/MP4
   ``CreateDate``/``MediaCreateDate``/``TrackCreateDate`` and Matroska dates (UTC by the spec:
   converted to local time with the configured timezone), RIFF (AVI) and PNG dates;
4. a date in the file name (``IMG_20240131_235959``, ``PXL_…``, ``VID_…``, ``Screenshot_2024-01-31-…``,
   WhatsApp's ``IMG-20240131-WA0001``, Samsung's ``20240131_235959``);
5. the file's modification time;
6. when even that is implausible (before ``min_year``, more than a day in the future, or beyond
   what a date can hold: ``2099``, ``1970-01-01`` and ``1901-12-13`` are what broken clocks and
   32-bit overflows leave), the time the file was first seen (``date_source = 'first_seen'``),
   flagged as suspicious.

Impossible dates (zero dates, before ``min_year``, more than a day in the future) are skipped, so
the chosen date always lies in ``[min_year, now + 1 day]``. A chosen date that a reset or never-set
clock shows (a camera's default such as 2000-01-01 00:00, an epoch such as 1970-01-01 seen in any
zone) is kept — it may be true — but flagged: :attr:`CaptureTime.suspicious` says why, and the
librarian records it as the ``PF:SuspiciousDate`` metadata (the ``date_suspicious`` column).
The timezone comes, in order, from an offset tag or an offset inside the date string, from the
GPS timestamp (the difference between local time and the GPS's UTC time, when it is a whole
quarter hour), else from the configured zone (``tz_source`` records which).

Where the file has a GPS position, its time zone (offline, ``position_zone``) replaces the
configured zone for UTC dates (videos: ``tz_source = 'gps-position:<zone>'``), and a photo whose
only date is the GPS clock (``GPSDateTime``) is dated in that zone. A scanned old photo's explicit
``DateTimeOriginal`` before ``min_year`` (1826 or later, not a default clock) is kept, flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_DT = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET = re.compile(r"^\s*([+-])(\d{1,2}):?(\d{2})\s*$")

# Local-time tags (offset tag names to try for each, in order).
_LOCAL_TAGS: list[tuple[str, tuple[str, ...]]] = [
    ("EXIF:DateTimeOriginal", ("EXIF:OffsetTimeOriginal", "EXIF:OffsetTime")),
    ("XMP:DateTimeOriginal", ()),
    ("EXIF:CreateDate", ("EXIF:OffsetTimeDigitized", "EXIF:OffsetTime")),
    ("XMP:CreateDate", ()),
    ("XMP:DateCreated", ()),
    ("QuickTime:CreationDate", ()),  # Apple: local time with its offset
]
# UTC-by-spec tags.
_UTC_TAGS = [
    "QuickTime:CreateDate", "QuickTime:MediaCreateDate", "QuickTime:TrackCreateDate",
    "Matroska:DateTimeOriginal",
]
# Local tags of lesser trust, after the video dates.
_LATE_LOCAL_TAGS = ["RIFF:DateTimeOriginal", "PNG:CreationTime", "EXIF:ModifyDate"]

_FILENAME_DT = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])"
    r"[-_ T.]{0,3}([01]\d|2[0-3])[-_.:h]?([0-5]\d)[-_.:m]?([0-5]\d)"
)
_FILENAME_D = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


#: Zero points of clocks, shown in whatever zone converted them: a date from
#: ``[moment - 14 h, moment + 1 day + 14 h)`` is suspicious.
_EPOCHS: list[tuple[datetime, str]] = [
    (datetime(1904, 1, 1), "the QuickTime/MP4 zero date"),
    (datetime(1970, 1, 1), "the Unix epoch (a clock at zero)"),
    (datetime(1980, 1, 1), "the DOS/FAT epoch (a reset camera, dashcam or action-camera clock)"),
    (datetime(1980, 1, 6), "the GPS epoch (a GPS clock at zero)"),
    (datetime(2038, 1, 19, 3, 14, 7), "the end of 32-bit time"),
]
#: Wall-clock defaults of cameras and phones whose clock was never set or lost its backup
#: battery: the clock starts there and runs on, so the whole following day is suspicious.
_CAMERA_DEFAULTS: list[tuple[datetime, str]] = [
    (datetime(2000, 1, 1), "a common camera default clock"),
    (datetime(2001, 1, 1), "a common camera default clock"),
    (datetime(2002, 12, 8), "a known camera default clock"),
    (datetime(2012, 12, 31, 23), "a known camera default clock"),
]
_ZONE_SPREAD = timedelta(hours=14)
#: The oldest surviving photograph is from 1826/27: no capture date can be older.
FIRST_PHOTO_YEAR = 1826
#: Explicit original dates that may be older than ``min_year`` (scans of old photos).
_OLD_SCAN_TAGS = ("EXIF:DateTimeOriginal", "XMP:DateTimeOriginal")


def default_clock(local: datetime) -> str | None:
    """Why ``local`` looks like a reset or never-set clock, or None when it does not."""
    for moment, why in _EPOCHS:
        if moment - _ZONE_SPREAD <= local < moment + timedelta(days=1) + _ZONE_SPREAD:
            return f"{local:%Y-%m-%d %H:%M:%S} is near {why}, {moment:%Y-%m-%d}"
    for moment, why in _CAMERA_DEFAULTS:
        if moment <= local < moment + timedelta(days=1):
            return f"{local:%Y-%m-%d %H:%M:%S} is {why} ({moment:%Y-%m-%d %H:%M})"
    if (local.month, local.day, local.hour, local.minute, local.second) == (1, 1, 0, 0, 0):
        return f"{local:%Y-%m-%d %H:%M:%S}: midnight of New Year's Day exactly, where unset clocks start"
    return None


@dataclass(frozen=True)
class CaptureTime:
    local: datetime  # naive wall-clock time where the picture was taken
    utc: datetime  # aware, UTC
    offset_minutes: int
    date_source: str
    tz_source: str
    #: Why the date should be reviewed (a default clock, a file time replaced by first_seen).
    suspicious: str | None = None


@dataclass(frozen=True)
class Parsed:
    local: datetime
    offset: timedelta | None


def parse_datetime(value: object) -> Parsed | None:
    """Parse ExifTool-style date strings; None for blanks, zero dates and garbage."""
    if not isinstance(value, str):
        return None
    m = _DT.match(value)
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        local = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None  # 0000:00:00, month 13, …
    return Parsed(local, parse_offset(tz) if tz else None)


def parse_offset(value: object) -> timedelta | None:
    if not isinstance(value, str):
        return None
    if value.strip().upper() == "Z":
        return timedelta(0)
    m = _OFFSET.match(value)
    if not m:
        return None
    sign, hh, mm = m.groups()
    delta = timedelta(hours=int(hh), minutes=int(mm))
    if delta > timedelta(hours=14):
        return None
    return -delta if sign == "-" else delta


def _plausible(local: datetime, min_year: int, now: datetime) -> bool:
    return local.year >= min_year and local <= now.replace(tzinfo=None) + timedelta(days=1)


def _zone_offset(local: datetime, zone: ZoneInfo) -> timedelta:
    return local.replace(tzinfo=zone).utcoffset() or timedelta(0)


def _gps_offset(tags: Mapping[str, object], local: datetime) -> timedelta | None:
    """Offset from the GPS clock (UTC): only when it is a whole quarter hour within ±14 h."""
    parsed = parse_datetime(tags.get("Composite:GPSDateTime"))
    if parsed is None:
        return None
    raw = (local - parsed.local).total_seconds()
    quarter = round(raw / 900) * 900
    if abs(raw - quarter) > 120 or abs(quarter) > 14 * 3600:
        return None
    return timedelta(seconds=quarter)


def _build(local: datetime, offset: timedelta, date_source: str, tz_source: str) -> CaptureTime:
    utc = (local - offset).replace(tzinfo=UTC)
    return CaptureTime(local, utc, int(offset.total_seconds() // 60), date_source, tz_source)


def _local_with_tz(tags: Mapping[str, object], parsed: Parsed, offset_tags: tuple[str, ...],
                   zone: ZoneInfo, zone_name: str) -> tuple[timedelta, str]:
    if parsed.offset is not None:
        return parsed.offset, "embedded"
    for tag in offset_tags:
        off = parse_offset(tags.get(tag))
        if off is not None:
            return off, tag
    gps = _gps_offset(tags, parsed.local)
    if gps is not None:
        return gps, "gps"
    return _zone_offset(parsed.local, zone), f"configured:{zone_name}"


def from_filename(name: str) -> datetime | None:
    m = _FILENAME_DT.search(name)
    if m:
        try:
            y, mo, d, hh, mi, ss = (int(g) for g in m.groups())
            return datetime(y, mo, d, hh, mi, ss)
        except ValueError:
            pass
    m = _FILENAME_D.search(name)
    if m:
        try:
            return datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def capture_time(tags: Mapping[str, object], *, file_name: str, mtime: float, zone_name: str,
                 min_year: int = 1990, now: datetime | None = None,
                 position_zone: Callable[[], str | None] | None = None) -> CaptureTime:
    """Decide the capture time of a file from its metadata tags (ExifTool ``-G -n`` keys).

    ``now`` is when the file was first seen (default: now): the date of last resort.
    ``position_zone``: the IANA zone of the file's GPS position, or None (asked only when needed)."""
    zone = ZoneInfo(zone_name)
    now = now or datetime.now(zone)
    when = _decide(tags, file_name, mtime, zone, zone_name, min_year, now, position_zone)
    if when.suspicious is None:
        when = replace(when, suspicious=default_clock(when.local))
    return when


def _position_zone(position_zone: Callable[[], str | None] | None) -> tuple[ZoneInfo, str] | None:
    name = position_zone() if position_zone is not None else None
    if not name:
        return None
    try:
        return ZoneInfo(name), name
    except (ValueError, KeyError, OSError):
        return None


def old_scan(tags: Mapping[str, object], min_year: int, now: datetime) -> tuple[str, datetime] | None:
    """An explicit original date older than ``min_year`` that may be true (a scan of an old
    photo): from 1826 on, not a default clock. (tag, local time) or None."""
    for tag in _OLD_SCAN_TAGS:
        parsed = parse_datetime(tags.get(tag))
        if (parsed and FIRST_PHOTO_YEAR <= parsed.local.year < min_year
                and _plausible(parsed.local, FIRST_PHOTO_YEAR, now) and default_clock(parsed.local) is None):
            return tag, parsed.local
    return None


def _decide(tags: Mapping[str, object], file_name: str, mtime: float, zone: ZoneInfo, zone_name: str,
            min_year: int, now: datetime, position_zone: Callable[[], str | None] | None = None) -> CaptureTime:
    for tag, offset_tags in _LOCAL_TAGS:
        parsed = parse_datetime(tags.get(tag))
        if parsed and _plausible(parsed.local, min_year, now):
            offset, tz_source = _local_with_tz(tags, parsed, offset_tags, zone, zone_name)
            return _build(parsed.local, offset, tag, tz_source)
    scan = old_scan(tags, min_year, now)
    if scan is not None:
        tag, local = scan
        parsed = Parsed(local, parse_datetime(tags.get(tag)).offset)  # type: ignore[union-attr]
        offset, tz_source = _local_with_tz(tags, parsed, dict(_LOCAL_TAGS).get(tag, ()), zone, zone_name)
        return replace(_build(local, offset, tag, tz_source),
                       suspicious=f"{local:%Y-%m-%d} is before PF_MIN_YEAR ({min_year}): kept as written "
                                  "(a scan of an old photo?)")
    here = _position_zone(position_zone)
    for tag in _UTC_TAGS:
        parsed = parse_datetime(tags.get(tag))
        if parsed is None:
            continue
        try:
            utc = (parsed.local - (parsed.offset or timedelta(0))).replace(tzinfo=UTC)
            local = utc.astimezone(here[0] if here else zone)
        except OverflowError:  # year 1 or 9999 shifted out of range
            continue
        if _plausible(local.replace(tzinfo=None), min_year, now):
            offset = local.utcoffset() or timedelta(0)
            tz_source = f"gps-position:{here[1]}" if here else f"utc-converted:{zone_name}"
            return _build(local.replace(tzinfo=None), offset, tag, tz_source)
    gps = parse_datetime(tags.get("Composite:GPSDateTime") or tags.get("XMP:GPSDateTime"))
    if gps is not None and here is not None:  # the GPS clock is UTC; the position gives the zone
        try:
            at: datetime | None = (gps.local - (gps.offset or timedelta(0))).replace(tzinfo=UTC).astimezone(here[0])
        except OverflowError:
            at = None
        if at is not None and _plausible(at.replace(tzinfo=None), min_year, now):
            return _build(at.replace(tzinfo=None), at.utcoffset() or timedelta(0), "GPSDateTime",
                          f"gps-position:{here[1]}")
    for tag in _LATE_LOCAL_TAGS:
        parsed = parse_datetime(tags.get(tag))
        if parsed and _plausible(parsed.local, min_year, now):
            offset, tz_source = _local_with_tz(tags, parsed, (), zone, zone_name)
            return _build(parsed.local, offset, tag, tz_source)
    named = from_filename(file_name)
    if named is not None and _plausible(named, min_year, now):
        return _build(named, _zone_offset(named, zone), "filename", f"configured:{zone_name}")
    try:
        mt: datetime | None = datetime.fromtimestamp(mtime, tz=UTC).astimezone(zone)
    except (OverflowError, OSError, ValueError):
        mt = None  # beyond what a date can hold
    if mt is not None and _plausible(mt.replace(tzinfo=None), min_year, now):
        return _build(mt.replace(tzinfo=None), mt.utcoffset() or timedelta(0), "mtime", f"configured:{zone_name}")
    seen = now.astimezone(zone)
    shown = f"{mt:%Y-%m-%d %H:%M:%S}" if mt is not None else f"{mtime!r} seconds"
    when = _build(seen.replace(tzinfo=None), seen.utcoffset() or timedelta(0), "first_seen",
                  f"configured:{zone_name}")
    return replace(when, suspicious=f"no date in the file and an implausible file time ({shown}): "
                                    "dated when the file was first seen")


def fixed_zone(offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=offset_minutes))
