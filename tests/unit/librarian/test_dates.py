from datetime import UTC, datetime

import pytest

from librarian.dates import capture_time, from_filename, parse_datetime, parse_offset

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MTIME = datetime(2025, 5, 5, 10, 0, tzinfo=UTC).timestamp()


def decide(tags, name="file.jpg", zone="Europe/Berlin"):
    return capture_time(tags, file_name=name, mtime=MTIME, zone_name=zone, now=NOW)


def test_it_prefers_date_time_original_with_its_offset_tag():
    t = decide({"EXIF:DateTimeOriginal": "2024:01:31 23:59:59", "EXIF:OffsetTimeOriginal": "+05:30",
                "EXIF:CreateDate": "2020:01:01 00:00:00"})
    assert t.local == datetime(2024, 1, 31, 23, 59, 59)
    assert t.utc == datetime(2024, 1, 31, 18, 29, 59, tzinfo=UTC)
    assert (t.date_source, t.tz_source, t.offset_minutes) == ("EXIF:DateTimeOriginal", "EXIF:OffsetTimeOriginal", 330)


def test_without_an_offset_it_uses_the_configured_zone_with_daylight_saving():
    summer = decide({"EXIF:DateTimeOriginal": "2024:07:01 12:00:00"})
    winter = decide({"EXIF:DateTimeOriginal": "2024:01:01 12:00:00"})
    assert summer.offset_minutes == 120 and winter.offset_minutes == 60
    assert summer.tz_source == "configured:Europe/Berlin"


def test_the_gps_clock_gives_the_offset_when_it_is_a_whole_quarter_hour():
    t = decide({"EXIF:DateTimeOriginal": "2024:07:01 12:00:05", "Composite:GPSDateTime": "2024:07:01 02:00:00Z"})
    assert (t.offset_minutes, t.tz_source) == (600, "gps")


def test_a_stale_gps_clock_is_ignored():
    t = decide({"EXIF:DateTimeOriginal": "2024:07:01 12:00:00", "Composite:GPSDateTime": "2024:07:01 02:22:00Z"})
    assert t.tz_source.startswith("configured")


@pytest.mark.parametrize("bad", ["0000:00:00 00:00:00", "    :  :     :  :  ", "1970:01:01 00:00:00",
                                 "2031:01:01 00:00:00", "garbage", "2024:13:45 10:00:00", ""])
def test_impossible_dates_fall_through_to_the_next_source(bad):
    t = decide({"EXIF:DateTimeOriginal": bad, "EXIF:CreateDate": "2023:03:03 03:03:03"})
    assert (t.date_source, t.local) == ("EXIF:CreateDate", datetime(2023, 3, 3, 3, 3, 3))


def test_quicktime_dates_are_utc_and_converted_to_the_configured_zone():
    t = decide({"QuickTime:CreateDate": "2024:01:31 23:30:00"}, name="clip.mp4")
    assert t.local == datetime(2024, 2, 1, 0, 30)
    assert t.utc == datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    assert (t.date_source, t.tz_source) == ("QuickTime:CreateDate", "utc-converted:Europe/Berlin")


def test_apples_creation_date_keeps_its_own_offset_and_wins_over_utc_dates():
    t = decide({"QuickTime:CreationDate": "2024:08:10 09:15:00-07:00", "QuickTime:CreateDate": "2024:08:10 16:15:00"})
    assert t.local == datetime(2024, 8, 10, 9, 15)
    assert (t.offset_minutes, t.tz_source, t.date_source) == (-420, "embedded", "QuickTime:CreationDate")


def test_matroska_dates_with_z_are_utc():
    t = decide({"Matroska:DateTimeOriginal": "2024:02:01 10:00:00Z"}, name="x.mkv")
    assert t.local == datetime(2024, 2, 1, 11, 0)


@pytest.mark.parametrize("name, expected", [
    ("IMG_20240131_235959.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("VID_20240131_235959.mp4", datetime(2024, 1, 31, 23, 59, 59)),
    ("PXL_20240131_235959123.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("PXL_20240131_235959123.MP.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("Screenshot_2024-01-31-23-59-59-123_com.app.png", datetime(2024, 1, 31, 23, 59, 59)),
    ("Screenshot_20240131-235959.png", datetime(2024, 1, 31, 23, 59, 59)),
    ("IMG-20240131-WA0001.jpg", datetime(2024, 1, 31)),
    ("20240131_235959.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("signal-2024-01-31-235959.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("Photo 2024-01-31 23.59.59.jpg", datetime(2024, 1, 31, 23, 59, 59)),
    ("DSC01234.JPG", None),
    ("IMG_1234.HEIC", None),
    ("IMG_20241399_000000.jpg", None),
])
def test_dates_in_file_names(name, expected):
    assert from_filename(name) == expected


def test_the_file_name_is_used_before_the_mtime():
    t = decide({}, name="IMG_20240131_235959.jpg")
    assert (t.date_source, t.local) == ("filename", datetime(2024, 1, 31, 23, 59, 59))


def test_the_mtime_is_the_last_resort():
    t = decide({}, name="DSC0001.JPG")
    assert t.date_source == "mtime"
    assert t.utc == datetime(2025, 5, 5, 10, 0, tzinfo=UTC)
    assert t.local == datetime(2025, 5, 5, 12, 0)


def test_subseconds_and_iso_forms_parse():
    assert parse_datetime("2024-01-31T23:59:59.5+01:00").local == datetime(2024, 1, 31, 23, 59, 59, 500000)
    assert parse_datetime("2024:01:31").local == datetime(2024, 1, 31)
    assert parse_offset("-03:30").total_seconds() == -3.5 * 3600
    assert parse_offset("+15:00") is None
    assert parse_datetime(12345) is None
