"""What a sidecar says about its photo, and the capture date when sidecars have a say.

XMP sidecars are read by ExifTool (their tags come in as ``XMP:…``); a Google Takeout JSON is
parsed here (``photoTakenTime`` is a UTC epoch; ``geoDataExif``/``geoData`` at 0/0 mean no
position). A sidecar that cannot be read is still kept with its photo: ``problem`` says why.

Capture-date precedence (``decide``): an XMP sidecar's date (that is where editors write
corrections) -> the file's own tags -> the Takeout ``photoTakenTime`` -> the file name -> the
mtime. Where two of the first three disagree by more than a day the date is flagged for review.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from librarian import dates, metadata

#: A Takeout JSON larger than this is not parsed (kept with its photo, its problem recorded).
MAX_JSON_BYTES = 4 << 20
#: Dates that disagree by more than this are flagged for review.
DISAGREE = timedelta(days=1)
#: Date sources that are not the file's own tags.
_WEAK_SOURCES = ("filename", "mtime", "first_seen")
_XMP_DATES = (("XMP:DateTimeOriginal", "xmp:DateTimeOriginal"), ("XMP:CreateDate", "xmp:CreateDate"),
              ("XMP:DateCreated", "xmp:DateCreated"))


@dataclass
class Facts:
    """What one sidecar says (``metadata`` is stored in ``asset_sidecars.metadata``)."""

    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)
    #: XMP: (source name, parsed local time with its offset if written)
    xmp_date: tuple[str, dates.Parsed] | None = None
    #: Takeout: the UTC moment
    taken_utc: datetime | None = None
    location: dict[str, float] | None = None
    title: str | None = None
    album: str | None = None
    problem: str | None = None


def _text(v: Any, limit: int = 2000) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    s = str(v).replace("\x00", "").strip()
    return s[:limit] or None


def from_xmp(tags: Mapping[str, Any]) -> Facts:
    """Facts from ExifTool's tags of an XMP sidecar."""
    f = Facts("xmp")
    problem = _text(tags.get("ExifTool:Error"))
    if problem or tags.get("PF:Reader") != "exiftool":
        f.problem = problem or _text(tags.get("PF:ReaderProblem")) or "not readable as XMP"
    elif not any(k.startswith("XMP:") for k in tags):
        f.problem = "no XMP data could be read from it (malformed or empty)"
    for tag, name in _XMP_DATES:
        parsed = dates.parse_datetime(tags.get(tag))
        if parsed is not None:
            f.metadata[name] = str(tags.get(tag))
            if f.xmp_date is None:
                f.xmp_date = (name, parsed)
    f.location = metadata.location({k: v for k, v in tags.items() if k.startswith("XMP:")})
    if f.location:
        f.metadata["location"] = f.location
    f.title = _text(tags.get("XMP:Title"), 500)
    for key, out in (("XMP:Title", "title"), ("XMP:Description", "description"), ("XMP:Rating", "rating"),
                     ("XMP:Label", "label")):
        value = _text(tags.get(key), 2000)
        if value is not None:
            f.metadata[out] = value
    keywords = _list(tags.get("XMP:Subject")) or _list(tags.get("XMP:Keywords"))
    if keywords:
        f.metadata["keywords"] = keywords
    people = _list(tags.get("XMP:PersonInImage"))
    if people:
        f.metadata["people"] = people
    if f.problem:
        f.metadata["problem"] = f.problem
    return f


def _list(v: Any) -> list[str]:
    if v is None:
        return []
    items = v if isinstance(v, list) else str(v).split(",") if isinstance(v, str) else [v]
    return [t for t in (_text(i, 200) for i in items) if t][:200]


def read_json(data: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) or (None, why not)."""
    if len(data) > MAX_JSON_BYTES:
        return None, f"larger than {MAX_JSON_BYTES >> 20} MiB: not read"
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {str(exc)[:200]}"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None


def is_album(obj: Mapping[str, Any] | None) -> bool:
    """A Takeout album description (``metadata.json``): a title, no photo time."""
    if not obj:
        return False
    if isinstance(obj.get("albumData"), dict):
        return True
    return "photoTakenTime" not in obj and "title" in obj and "url" not in obj


def album_title(obj: Mapping[str, Any]) -> str | None:
    data = obj.get("albumData") if isinstance(obj.get("albumData"), dict) else obj
    return _text(data.get("title"), 500)  # type: ignore[union-attr]


def from_takeout(data: bytes) -> Facts:
    """Facts from a Takeout JSON's bytes (never raises: a bad one has ``problem`` set)."""
    obj, problem = read_json(data)
    if obj is None:
        return Facts("takeout_json", {"problem": problem}, problem=problem)
    if is_album(obj):
        f = Facts("takeout_album", album=album_title(obj))
        if f.album:
            f.metadata["album"] = f.album
        return f
    f = Facts("takeout_json")
    f.title = _text(obj.get("title"), 500)
    taken = obj.get("photoTakenTime")
    stamp = taken.get("timestamp") if isinstance(taken, dict) else None
    try:
        seconds = int(str(stamp)) if stamp is not None else 0
        if seconds:
            f.taken_utc = datetime.fromtimestamp(seconds, tz=UTC)
            f.metadata["photoTakenTime"] = f.taken_utc.isoformat()
    except (ValueError, OverflowError, OSError):
        f.problem = f"photoTakenTime {str(stamp)[:40]!r} is not a time"
    for key in ("geoDataExif", "geoData"):
        geo = obj.get(key)
        if isinstance(geo, dict) and f.location is None:
            f.location = metadata.location({"XMP:GPSLatitude": geo.get("latitude"),
                                            "XMP:GPSLongitude": geo.get("longitude"),
                                            "XMP:GPSAltitude": geo.get("altitude")})
            if f.location:
                f.metadata["location"] = {**f.location, "from": key}
    if f.title:
        f.metadata["title"] = f.title
    description = _text(obj.get("description"))
    if description:
        f.metadata["description"] = description
    people = obj.get("people")
    if isinstance(people, list):
        names = [n for n in (_text(p.get("name"), 200) for p in people if isinstance(p, dict)) if n]
        if names:
            f.metadata["people"] = names[:200]
    if f.problem:
        f.metadata["problem"] = f.problem
    return f


# -- the capture date with sidecars ---------------------------------------------------------------

def decide(own: dates.CaptureTime, facts: list[Facts], *, zone_name: str, min_year: int,
           position_zone: Callable[[], str | None], now: datetime | None = None) -> dates.CaptureTime:
    """The capture time given the file's own decision ``own`` and its sidecars' facts."""
    zone = ZoneInfo(zone_name)
    now = now or datetime.now(zone)
    candidates: list[dates.CaptureTime] = []
    xmp = next((f.xmp_date for f in facts if f.xmp_date is not None
                and dates._plausible(f.xmp_date[1].local, min_year, now)), None)
    if xmp is not None:
        name, parsed = xmp
        candidates.append(_local_time(name, parsed, zone, zone_name, position_zone))
    if own.date_source not in _WEAK_SOURCES:
        candidates.append(own)
    taken = next((f.taken_utc for f in facts if f.taken_utc is not None), None)
    if taken is not None:
        here = position_zone()
        z = _zone(here) or zone
        local = taken.astimezone(z)
        if dates._plausible(local.replace(tzinfo=None), min_year, now):
            tz_source = f"gps-position:{here}" if _zone(here) else f"utc-converted:{zone_name}"
            candidates.append(dates.CaptureTime(local.replace(tzinfo=None), taken,
                                                int((local.utcoffset() or timedelta(0)).total_seconds() // 60),
                                                "takeout:photoTakenTime", tz_source))
    if not candidates:
        return own
    chosen = candidates[0]
    if chosen is not own and chosen.suspicious is None:
        chosen = replace(chosen, suspicious=dates.default_clock(chosen.local))
    spread = max(c.utc for c in candidates) - min(c.utc for c in candidates)
    if spread > DISAGREE:
        said = "; ".join(f"{c.date_source} {c.local:%Y-%m-%d %H:%M}" for c in candidates)
        why = f"the dates disagree by {spread.days} days ({said})"
        chosen = replace(chosen, suspicious=f"{chosen.suspicious}; {why}" if chosen.suspicious else why)
    return chosen


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def _local_time(source: str, parsed: dates.Parsed, zone: ZoneInfo, zone_name: str,
                position_zone: Callable[[], str | None]) -> dates.CaptureTime:
    if parsed.offset is not None:
        offset, tz_source = parsed.offset, "embedded"
    else:
        here = position_zone()
        z = _zone(here)
        offset = (parsed.local.replace(tzinfo=z or zone).utcoffset() or timedelta(0))
        tz_source = f"gps-position:{here}" if z else f"configured:{zone_name}"
    utc = (parsed.local - offset).replace(tzinfo=UTC)
    return dates.CaptureTime(parsed.local, utc, int(offset.total_seconds() // 60), source, tz_source)


def apply(row_meta: dict[str, Any], facts: list[Facts]) -> dict[str, Any]:
    """Sidecar facts worth keeping on the asset (``PF:Sidecar…`` entries of its metadata)."""
    for f in facts:
        for key in ("title", "description", "rating", "keywords", "people", "label"):
            if key == "title" and f.kind != "xmp":
                continue  # a Takeout "title" is the file's name, not a caption
            if key in f.metadata and f"PF:{key.title()}" not in row_meta:
                row_meta[f"PF:{key.title()}"] = f.metadata[key]
        if f.album and "PF:Album" not in row_meta:
            row_meta["PF:Album"] = f.album
    return row_meta


def location(own: dict[str, float] | None, facts: list[Facts]) -> dict[str, float] | None:
    """The position: an XMP sidecar's (corrections), the file's own, then Takeout's."""
    for f in facts:
        if f.kind == "xmp" and f.location:
            return f.location
    if own:
        return own
    return next((f.location for f in facts if f.location), None)
