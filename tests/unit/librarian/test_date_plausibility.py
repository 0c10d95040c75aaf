"""Dates from the file system are checked: an implausible mtime falls back to the time the file
was first seen (flagged); a camera's default clock is kept but flagged as suspicious."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from librarian.dates import capture_time, default_clock

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ZONE = "Europe/Berlin"


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def decide(mtime: float, tags: dict | None = None, name: str = "DSC0001.JPG", min_year: int = 1990,
           now: datetime = NOW):
    return capture_time(tags or {}, file_name=name, mtime=mtime, zone_name=ZONE, min_year=min_year, now=now)


@pytest.mark.parametrize("mtime", [
    _ts(2099, 6, 1),  # a clock far in the future
    _ts(1970, 1, 1),  # zero
    -(2 ** 31),  # 1901-12-13 20:45:52: a 32-bit overflow
    _ts(1989, 12, 31, 12),  # before PF_MIN_YEAR
    (NOW + timedelta(days=2)).timestamp(),
    1e15,  # beyond the year 9999: cannot even be a date
    -1e15,
])
def test_an_implausible_mtime_falls_back_to_when_the_file_was_first_seen(mtime):
    t = decide(mtime)
    assert t.date_source == "first_seen"
    assert t.utc == NOW
    assert t.local == datetime(2026, 11, 22, 13, 0)  # in the configured zone
    assert t.suspicious and "first seen" in t.suspicious


def test_a_plausible_mtime_is_still_used_and_not_flagged():
    t = decide(_ts(2025, 5, 5, 10))
    assert (t.date_source, t.suspicious) == ("mtime", None)


def test_an_mtime_within_a_day_ahead_is_plausible():
    assert decide((NOW + timedelta(hours=20)).timestamp()).date_source == "mtime"


@pytest.mark.parametrize("stamp", ["2000:01:01 00:00:00", "2000:01:01 00:07:31", "2001:01:01 00:00:00",
                                   "2002:12:08 12:00:00", "2015:01:01 00:00:00"])
def test_camera_default_clocks_are_kept_but_flagged(stamp):
    t = decide(_ts(2025, 5, 5), {"EXIF:DateTimeOriginal": stamp})
    assert t.date_source == "EXIF:DateTimeOriginal"
    assert t.local == datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S")
    assert t.suspicious


@pytest.mark.parametrize("stamp", ["1970:01:01 00:00:00", "1980:01:01 00:00:00", "1969:12:31 19:00:00"])
def test_epochs_are_flagged_when_an_archive_allows_such_old_dates(stamp):
    t = decide(_ts(2025, 5, 5), {"EXIF:DateTimeOriginal": stamp}, min_year=1900)
    assert t.date_source == "EXIF:DateTimeOriginal" and t.suspicious


def test_an_mtime_of_zero_seen_in_any_zone_is_flagged_when_old_dates_are_allowed():
    for zone in ("Pacific/Kiritimati", "America/New_York", "UTC", "Pacific/Pago_Pago"):
        t = capture_time({}, file_name="x.jpg", mtime=0, zone_name=zone, min_year=1900, now=NOW)
        assert t.date_source == "mtime" and t.suspicious, zone


@pytest.mark.parametrize("stamp", ["2000:01:02 10:00:00", "1999:12:31 23:59:59", "2024:01:01 00:00:01",
                                   "2024:07:14 00:00:00", "2002:12:09 08:00:00"])
def test_ordinary_dates_near_the_defaults_are_not_flagged(stamp):
    t = decide(_ts(2025, 5, 5), {"EXIF:DateTimeOriginal": stamp})
    assert t.suspicious is None


def test_a_file_name_date_on_a_default_day_is_flagged_too():
    t = decide(_ts(2025, 5, 5), name="IMG_20000101_000512.jpg")
    assert t.date_source == "filename" and t.suspicious


def test_default_clock_names_the_reason():
    assert "camera default" in (default_clock(datetime(2000, 1, 1, 0, 3)) or "")
    assert "Unix epoch" in (default_clock(datetime(1970, 1, 1, 1, 0)) or "")
    assert default_clock(datetime(2023, 6, 1, 12, 0)) is None


_TAG_DATES = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.strftime("%Y:%m:%d %H:%M:%S")),
    st.text(max_size=25),
)


@settings(max_examples=300, deadline=None)
@given(mtime=st.one_of(st.floats(min_value=-1e18, max_value=1e18, allow_nan=False),
                       st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(float)),
       min_year=st.integers(min_value=1800, max_value=2026),
       now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
       original=_TAG_DATES, quicktime=_TAG_DATES,
       name=st.sampled_from(["DSC0001.JPG", "IMG_20991231_120000.jpg", "IMG_19010101_000000.jpg",
                             "IMG_20240131_235959.jpg"]))
def test_the_chosen_date_always_lies_between_min_year_and_a_day_from_now(mtime, min_year, now, original,
                                                                         quicktime, name):
    tags = {k: v for k, v in (("EXIF:DateTimeOriginal", original), ("QuickTime:CreateDate", quicktime)) if v}
    t = capture_time(tags, file_name=name, mtime=mtime, zone_name=ZONE, min_year=min_year, now=now)
    assert t.local <= now.replace(tzinfo=None) + timedelta(days=1)
    if t.local < datetime(min_year, 1, 1):  # only a scan's explicit original date, kept and flagged
        assert t.date_source == "EXIF:DateTimeOriginal" and t.local.year >= 1826 and "PF_MIN_YEAR" in t.suspicious
    if t.date_source == "first_seen":
        assert t.utc == now and t.suspicious
