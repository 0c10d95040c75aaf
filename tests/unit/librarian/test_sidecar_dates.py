"""Capture dates with sidecars (XMP -> own tags -> Takeout -> name -> mtime), GPS time zones,
scans of old photos, and what a Takeout JSON or an XMP sidecar says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from librarian import sidecar_meta, tzmap
from librarian.dates import capture_time

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MTIME = datetime(2025, 5, 5, 10, 0, tzinfo=UTC).timestamp()
ZONE = "Europe/Berlin"
TOKYO = {"lat": 35.6762, "lon": 139.6503}


def own(tags, name="file.jpg", where=None):
    return capture_time(tags, file_name=name, mtime=MTIME, zone_name=ZONE, now=NOW,
                        position_zone=tzmap.lazy_zone(where))


def with_sidecars(tags, facts, where=None, name="file.jpg"):
    zone = tzmap.lazy_zone(where)
    return sidecar_meta.decide(own(tags, name, where), facts, zone_name=ZONE, min_year=1990,
                               position_zone=zone, now=NOW)


def takeout(stamp: int, lat: float = 0.0, lon: float = 0.0, **extra) -> sidecar_meta.Facts:
    obj = {"title": "IMG_1.JPG", "photoTakenTime": {"timestamp": str(stamp)},
           "geoData": {"latitude": lat, "longitude": lon, "altitude": 0.0}, **extra}
    return sidecar_meta.from_takeout(json.dumps(obj).encode())


def xmp(**tags) -> sidecar_meta.Facts:
    return sidecar_meta.from_xmp({"PF:Reader": "exiftool", **{f"XMP:{k}": v for k, v in tags.items()}})


def test_an_xmp_sidecar_date_wins_over_the_files_own() -> None:
    t = with_sidecars({"EXIF:DateTimeOriginal": "2024:01:31 10:00:00"}, [xmp(DateTimeOriginal="2024:01:31 12:00:00")])
    assert (t.local, t.date_source) == (datetime(2024, 1, 31, 12), "xmp:DateTimeOriginal")
    t = with_sidecars({}, [xmp(DateCreated="2023:05:06 07:08:09+02:00")])
    assert (t.date_source, t.tz_source, t.offset_minutes) == ("xmp:DateCreated", "embedded", 120)


def test_the_files_own_date_wins_over_takeout_and_takeout_over_the_name_and_mtime() -> None:
    stamp = int(datetime(2024, 6, 1, 10, 0, tzinfo=UTC).timestamp())
    t = with_sidecars({"EXIF:DateTimeOriginal": "2024:06:01 12:30:00"}, [takeout(stamp)])
    assert t.date_source == "EXIF:DateTimeOriginal" and t.suspicious is None
    t = with_sidecars({}, [takeout(stamp)], name="IMG_20200101_101010.jpg")
    assert (t.date_source, t.utc, t.local) == ("takeout:photoTakenTime", datetime(2024, 6, 1, 10, tzinfo=UTC),
                                               datetime(2024, 6, 1, 12))


def test_takeout_time_is_local_to_its_position() -> None:
    stamp = int(datetime(2024, 6, 1, 20, 0, tzinfo=UTC).timestamp())
    facts = [takeout(stamp, **TOKYO)]
    t = with_sidecars({}, facts, where=sidecar_meta.location(None, facts))
    assert (t.local, t.tz_source) == (datetime(2024, 6, 2, 5, 0), "gps-position:Asia/Tokyo")


def test_sources_that_disagree_by_more_than_a_day_are_flagged() -> None:
    stamp = int(datetime(2021, 3, 3, tzinfo=UTC).timestamp())
    t = with_sidecars({"EXIF:DateTimeOriginal": "2024:06:01 12:30:00"}, [takeout(stamp)])
    assert t.date_source == "EXIF:DateTimeOriginal" and "disagree" in (t.suspicious or "")
    near = int(datetime(2024, 6, 1, 20, tzinfo=UTC).timestamp())
    assert with_sidecars({"EXIF:DateTimeOriginal": "2024:06:01 12:30:00"}, [takeout(near)]).suspicious is None


def test_takeout_zero_position_and_zero_time_mean_none() -> None:
    f = takeout(0)
    assert (f.taken_utc, f.location) == (None, None)


@pytest.mark.parametrize("data", [b"{", b"[]", b"\xff\xfe", b'{"photoTakenTime": {"timestamp": "soon"}}',
                                  b"x" * (sidecar_meta.MAX_JSON_BYTES + 1)])
def test_a_malformed_takeout_json_says_why(data: bytes) -> None:
    f = sidecar_meta.from_takeout(data)
    assert f.problem and f.metadata["problem"] == f.problem and f.taken_utc is None


def test_what_a_takeout_json_says_is_kept() -> None:
    f = takeout(1_700_000_000, 48.85, 2.35, description="Eiffel", people=[{"name": "Ann"}, {"x": 1}])
    assert f.metadata["description"] == "Eiffel" and f.metadata["people"] == ["Ann"]
    assert f.location == {"lat": 48.85, "lon": 2.35, "alt": 0.0}
    album = sidecar_meta.from_takeout(json.dumps({"title": "Holidays", "description": ""}).encode())
    assert (album.kind, album.album) == ("takeout_album", "Holidays")


def test_what_an_xmp_sidecar_says_is_kept() -> None:
    f = xmp(Title="T", Description="D", Rating=4, Subject=["a", "b"], GPSLatitude=1.5, GPSLongitude=2.5)
    assert f.metadata["keywords"] == ["a", "b"] and f.metadata["rating"] == "4"
    assert f.location == {"lat": 1.5, "lon": 2.5}
    meta = sidecar_meta.apply({}, [f])
    assert meta["PF:Title"] == "T" and meta["PF:Keywords"] == ["a", "b"]


def test_a_photo_dated_only_by_its_gps_clock_gets_the_local_date_of_its_position() -> None:
    t = own({"Composite:GPSDateTime": "2024:06:01 20:00:00Z"}, where=TOKYO)
    assert (t.local, t.date_source, t.tz_source) == (datetime(2024, 6, 2, 5), "GPSDateTime", "gps-position:Asia/Tokyo")
    assert own({"Composite:GPSDateTime": "2024:06:01 20:00:00Z"}).date_source == "mtime"  # no position


def test_a_video_with_a_position_gets_its_local_date_there() -> None:
    t = own({"QuickTime:CreateDate": "2024:06:01 20:00:00"}, name="clip.mp4", where=TOKYO)
    assert (t.local, t.tz_source) == (datetime(2024, 6, 2, 5), "gps-position:Asia/Tokyo")
    assert own({"QuickTime:CreateDate": "2024:06:01 20:00:00"}, name="c.mp4").tz_source == "utc-converted:Europe/Berlin"


@pytest.mark.parametrize(("stamp", "kept"), [("1936:05:04 10:00:00", True), ("1826:06:01 00:00:00", True),
                                             ("1825:06:01 10:00:00", False), ("1970:01:01 00:00:00", False),
                                             ("1980:01:01 00:00:00", False)])
def test_a_scans_old_original_date_is_kept_and_flagged(stamp: str, kept: bool) -> None:
    t = own({"EXIF:DateTimeOriginal": stamp})
    if kept:
        assert t.date_source == "EXIF:DateTimeOriginal" and "PF_MIN_YEAR" in (t.suspicious or "")
    else:
        assert t.date_source == "mtime"
