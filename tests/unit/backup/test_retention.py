"""Dump names and the retention policy (pure)."""

from datetime import UTC, datetime, timedelta

from processor.backup import dumps
from processor.backup.dumps import Retention


def names_every_day(days: int, start: datetime = datetime(2024, 1, 1, 2, tzinfo=UTC)) -> list[str]:
    return [dumps.dump_name(start + timedelta(days=d)) for d in range(days)]


def test_a_dump_name_round_trips_to_its_utc_time():
    at = datetime(2024, 1, 31, 2, 3, 4, tzinfo=UTC)
    assert dumps.dump_name(at) == "photo_factory-20240131T020304Z.dump"
    assert dumps.parse_dump_name(dumps.dump_name(at)) == at


def test_names_that_are_not_ours_are_never_expired():
    foreign = ["notes.txt", "photo_factory-latest.dump", "other-20240101T000000Z.dump"]
    assert dumps.expired(foreign + names_every_day(30), Retention(1, 0)) != []
    assert not set(dumps.expired(foreign + names_every_day(30), Retention(1, 0))) & set(foreign)


def test_it_keeps_seven_daily_and_four_weekly_dumps():
    names = names_every_day(60)
    gone = dumps.expired(names, Retention(daily=7, weekly=4))
    kept = sorted(set(names) - set(gone))
    assert names[-7:] == kept[-7:]
    assert 7 <= len(kept) <= 11


def test_it_keeps_only_the_newest_dump_of_a_day():
    base = datetime(2024, 3, 1, 1, tzinfo=UTC)
    names = [dumps.dump_name(base + timedelta(hours=h)) for h in range(5)]
    assert dumps.expired(names, Retention(daily=7, weekly=0)) == sorted(names[:-1])


def test_the_newest_dump_is_kept_even_with_zero_retention():
    names = names_every_day(3)
    assert dumps.expired(names, Retention(daily=0, weekly=0)) == sorted(names[:-1])


def test_latest_picks_the_newest_of_our_dumps():
    assert dumps.latest(["x.dump", *names_every_day(3)]) == names_every_day(3)[-1]
    assert dumps.latest(["x.dump"]) is None
