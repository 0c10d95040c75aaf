"""Sidecars travel with their photos: real ExifTool, real PostgreSQL, real files."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.integration.librarian.conftest import files
from tests.support import invariants, samples, sidecar_samples

pytestmark = pytest.mark.integration


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def inputs(inbox: Path) -> set[str]:
    return {sha(p) for p in inbox.rglob("*") if p.is_file()}


def test_a_takeout_export_is_filed_by_its_real_dates_with_every_json_beside_its_photo(storage, ingest, query,
                                                                                    database_url):
    inbox, store = storage["inbox"], storage["storage"]
    expected = sidecar_samples.takeout_export(inbox)
    originals = inputs(inbox)
    ingest()
    assert files(store / "Quarantine") == []
    assets = {r["source_path"]: r for r in query("SELECT * FROM media_assets")}
    side = {r["source_path"]: r for r in query(
        "SELECT s.*, a.library_path AS photo FROM asset_sidecars s JOIN media_assets a ON a.id = s.asset_id")}
    for e in expected:
        a = assets[e.photo]
        assert (a["date_source"], a["captured_at"]) == ("takeout:photoTakenTime", e.taken), e.photo
        assert a["capture_date"] == e.taken.astimezone().date()
        assert a["metadata"].get("PF:Album") == "Summer 2019", (e.photo, a["metadata"])
        if e.json:
            s = side[e.json]
            assert (s["photo"], s["kind"]) == (a["library_path"], "takeout_json"), e.json
            assert s["library_path"] == a["library_path"] + ".json"
            assert s["metadata"]["photoTakenTime"] == e.taken.isoformat()
    album = [s for s in side.values() if s["kind"] == "takeout_album"]
    assert len(album) == 1 and album[0]["metadata"]["album"] == "Summer 2019"
    first = assets["Takeout/Google Photos/Summer 2019/IMG_0001.JPG"]
    assert first["metadata"]["PF:People"] == ["Ann"] and first["metadata"]["PF:Description"] == "day 1"
    invariants.check(database_url, inbox, store, originals)


def test_xmp_sidecars_in_both_namings_date_their_photo_and_are_named_after_its_final_name(storage, ingest, query,
                                                                                         database_url):
    inbox, store = storage["inbox"], storage["storage"]
    # a photo of the same name and day is already filed: the new one becomes IMG_1_1.JPG
    samples.photo(inbox / "old" / "IMG_1.JPG", "2019:05:06 09:00:00", seed=99)
    ingest()
    samples.photo(inbox / "a" / "IMG_1.JPG", "2019:05:01 07:08:09", seed=1)  # XMP corrects it by 5 days
    sidecar_samples.xmp(inbox / "a" / "IMG_1.JPG.xmp", DateTimeOriginal="2019:05:06 07:08:09", Title="Full")
    samples.photo(inbox / "b" / "IMG_2.JPG", None, seed=2)
    sidecar_samples.xmp(inbox / "b" / "img_2.XMP", DateCreated="2019:05:07 07:08:09+02:00", Subject=["x", "y"],
                        Rating=4, GPSLatitude=35.6, GPSLongitude=139.6)
    originals = inputs(inbox) | inputs(store / "Library")
    ingest()
    assert files(store / "Library") == [
        "2019/2019-05-06/IMG_1.JPG", "2019/2019-05-06/IMG_1_1.JPG", "2019/2019-05-06/IMG_1_1.JPG.xmp",
        "2019/2019-05-07/IMG_2.JPG", "2019/2019-05-07/IMG_2.XMP"]
    rows = {r["source_path"]: r for r in query("SELECT * FROM media_assets")}
    one, two = rows["a/IMG_1.JPG"], rows["b/IMG_2.JPG"]
    assert one["date_source"] == "xmp:DateTimeOriginal" and "disagree" in one["metadata"]["PF:SuspiciousDate"]
    assert one["date_suspicious"] and one["metadata"]["PF:Title"] == "Full"
    assert (two["date_source"], two["tz_source"]) == ("xmp:DateCreated", "embedded")
    assert two["metadata"]["PF:Keywords"] == ["x", "y"] and two["location"] == {"lat": 35.6, "lon": 139.6}
    [s] = query("SELECT * FROM asset_sidecars WHERE source_path = 'b/img_2.XMP'")
    assert s["kind"] == "xmp" and s["metadata"]["rating"] == "4" and s["original_name"] == "img_2.XMP"
    invariants.check(database_url, inbox, store, originals)


def test_a_sidecar_that_arrives_first_waits_for_its_photo(storage, ingest, query, database_url):
    inbox, store = storage["inbox"], storage["storage"]
    side = sidecar_samples.xmp(inbox / "IMG_5.JPG.xmp", DateTimeOriginal="2020:02:02 02:02:02")
    originals = inputs(inbox)
    ingest()  # no photo yet: it waits in the inbox (PF_SIDECAR_WAIT_SECONDS, default an hour)
    assert side.exists() and files(store / "Quarantine") == []
    samples.photo(inbox / "IMG_5.JPG", None, seed=5)
    originals |= inputs(inbox)
    ingest()
    assert files(store / "Library") == ["2020/2020-02-02/IMG_5.JPG", "2020/2020-02-02/IMG_5.JPG.xmp"]
    invariants.check(database_url, inbox, store, originals)


def test_an_orphan_sidecar_is_kept_in_quarantine_and_reattached_when_its_photo_comes(storage, ingest, query,
                                                                                   database_url):
    inbox, store = storage["inbox"], storage["storage"]
    sidecar_samples.takeout_json(inbox / "trip" / "IMG_7.JPG.json", "IMG_7.JPG", datetime(2021, 3, 3, 3, tzinfo=UTC))
    originals = inputs(inbox)
    ingest(sidecar_wait_seconds=0)
    [q] = query("SELECT * FROM quarantine")
    assert q["reason"] == "orphan_sidecar" and q["source_path"] == "trip/IMG_7.JPG.json"
    invariants.check(database_url, inbox, store, originals)
    samples.photo(inbox / "trip" / "IMG_7.JPG", None, seed=7)  # no date of its own: the orphan's counts
    originals |= inputs(inbox)
    ingest(sidecar_wait_seconds=0)
    assert query("SELECT * FROM quarantine") == []
    assert query("SELECT date_source FROM media_assets") == [{"date_source": "takeout:photoTakenTime"}]
    assert files(store / "Library") == ["2021/2021-03-03/IMG_7.JPG", "2021/2021-03-03/IMG_7.JPG.json"]
    [s] = query("SELECT * FROM asset_sidecars")
    assert s["source_path"] == "trip/IMG_7.JPG.json" and s["kind"] == "takeout_json"
    events = [r["kind"] for r in query("SELECT kind FROM ingest_events ORDER BY id")]
    assert events[-1] == "sidecar_attached"
    invariants.check(database_url, inbox, store, originals)


def test_a_duplicate_photo_brings_a_new_sidecar_to_the_existing_asset(storage, ingest, query, database_url):
    inbox, store = storage["inbox"], storage["storage"]
    photo = samples.photo(inbox / "IMG_9.JPG", "2022:02:02 12:00:00", seed=9)
    data = photo.read_bytes()
    sidecar_samples.xmp(inbox / "IMG_9.JPG.xmp", Title="first")
    originals = inputs(inbox)
    ingest()
    # the same photo again, from another folder, with a different sidecar and an identical one
    (inbox / "again").mkdir()
    (inbox / "again" / "IMG_9.JPG").write_bytes(data)
    sidecar_samples.xmp(inbox / "again" / "IMG_9.JPG.xmp", Title="second")
    (inbox / "again" / "IMG_9.AAE").write_bytes(b"<plist>edit</plist>")
    originals |= inputs(inbox)
    ingest()
    assert files(inbox) == []
    assert files(store / "Library") == ["2022/2022-02-02/IMG_9.AAE", "2022/2022-02-02/IMG_9.JPG",
                                        "2022/2022-02-02/IMG_9.JPG.xmp", "2022/2022-02-02/IMG_9.JPG_1.xmp"]
    assert len(query("SELECT * FROM asset_sidecars")) == 3
    invariants.check(database_url, inbox, store, originals)
    # the identical sidecar once more: removed, not filed twice
    (inbox / "third").mkdir()
    (inbox / "third" / "IMG_9.JPG").write_bytes(data)
    (inbox / "third" / "IMG_9.AAE").write_bytes(b"<plist>edit</plist>")
    ingest()
    assert files(inbox) == [] and len(query("SELECT * FROM asset_sidecars")) == 3
    assert query("SELECT count(*) AS n FROM ingest_events WHERE kind = 'sidecar_duplicate_removed'")[0]["n"] == 1
    invariants.check(database_url, inbox, store, originals)


def test_a_sidecar_that_comes_after_its_photo_is_attached_and_a_disagreeing_date_flagged(storage, ingest, query,
                                                                                       database_url):
    inbox, store = storage["inbox"], storage["storage"]
    samples.photo(inbox / "d" / "IMG_3.JPG", "2023:03:03 10:00:00", seed=3)
    originals = inputs(inbox)
    ingest()
    sidecar_samples.takeout_json(inbox / "d" / "IMG_3.JPG.supplemental-metadata.json", "IMG_3.JPG",
                                 datetime(2020, 1, 1, tzinfo=UTC))
    originals |= inputs(inbox)
    ingest()
    assert files(store / "Library") == ["2023/2023-03-03/IMG_3.JPG", "2023/2023-03-03/IMG_3.JPG.json"]
    [a] = query("SELECT * FROM media_assets")
    assert a["capture_date"] == date(2023, 3, 3) and a["date_suspicious"]
    assert "came later" in a["metadata"]["PF:SuspiciousDate"]
    invariants.check(database_url, inbox, store, originals)


def test_the_running_librarian_waits_for_a_sidecars_photo_then_keeps_it_as_an_orphan(pf_env, storage, database_url,
                                                                                   query):
    import subprocess
    import sys
    import time

    def wait_for(pred, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.2)
        return False

    inbox, store = storage["inbox"], storage["storage"]
    staged = sidecar_samples.xmp(inbox.parent / "staging" / "IMG_4.JPG.xmp", DateTimeOriginal="2020:04:04 04:04:04")
    originals = {sha(staged)}
    env = {**pf_env, "PF_SIDECAR_WAIT_SECONDS": "4", "PF_RESCAN_SECONDS": "3600"}
    cli = str(Path(sys.executable).with_name("photo-factory"))
    proc = subprocess.Popen([cli, "librarian"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: query("SELECT 1 FROM system_status WHERE service = 'librarian'") != [])
        staged.replace(inbox / "IMG_4.JPG.xmp")
        assert wait_for(lambda: query("SELECT reason FROM quarantine") == [{"reason": "orphan_sidecar"}])
        photo = samples.photo(inbox.parent / "staging" / "IMG_4.JPG", None, seed=4)
        originals.add(sha(photo))
        photo.replace(inbox / "IMG_4.JPG")
        assert wait_for(lambda: len(query("SELECT 1 FROM asset_sidecars")) == 1
                        and query("SELECT 1 FROM quarantine") == [])
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert files(store / "Library") == ["2020/2020-04-04/IMG_4.JPG", "2020/2020-04-04/IMG_4.JPG.xmp"]
    invariants.check(database_url, inbox, store, originals)
