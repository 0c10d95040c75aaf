"""Which dump a restore picks by default, and what retention must keep (pure)."""

from datetime import UTC, datetime, timedelta

from processor.backup import dumps
from processor.backup.dumps import Manifest, Retention
from processor.backup.preflight import DumpRow, default_choice
from processor.backup.selection import Selection, folder_day


def manifest(name: str, assets: int, shrunk_from: int | None = None) -> Manifest:
    return Manifest(name, "2024-01-01T00:00:00+00:00", 1000, "0" * 64, assets, 6, shrunk_from)


def name(day: int) -> str:
    return dumps.dump_name(datetime(2024, 1, 1, 2, tzinfo=UTC) + timedelta(days=day))


def test_the_default_choice_is_the_newest_dump_that_holds_assets_and_did_not_shrink():
    rows = [DumpRow(name(3), 10, manifest(name(3), 0, 40)),  # empty catalogue after a disk loss
            DumpRow(name(2), 10, manifest(name(2), 12, 40)),  # much smaller
            DumpRow(name(1), 10, manifest(name(1), 40)),
            DumpRow(name(0), 10, manifest(name(0), 30))]
    assert default_choice(rows) == name(1)


def test_a_dump_without_manifest_is_a_candidate_inspected_at_restore():
    assert default_choice([DumpRow(name(1), 10, None), DumpRow(name(0), 10, manifest(name(0), 3))]) == name(1)
    assert default_choice([DumpRow(name(0), 10, manifest(name(0), 0))]) is None


def test_a_manifest_round_trips_through_json():
    m = manifest(name(0), 7, 20)
    assert Manifest.from_json(m.to_json()) == m and not m.good and manifest(name(0), 7).good


def test_retention_never_expires_the_newest_good_dump_however_many_empty_dumps_follow():
    names = [name(d) for d in range(60)]
    good = names[10]  # then 49 days of empty dumps
    gone = dumps.expired(names, Retention(daily=7, weekly=4), protect={good})
    assert good not in gone and names[-1] not in gone
    assert names[9] in gone  # the empty ones (and older good ones) follow retention like the others


def test_panoramas_and_other_derivatives_have_a_capture_day_too():
    pano = "Derivatives/panoramas/2024/2024-01-31/PANO_IMG_1_3.jpg"
    assert folder_day(pano) == folder_day("Library/2024/2024-01-31/x.jpg") is not None
    assert Selection(since=folder_day(pano), until=folder_day(pano)).matches(pano)
