"""Sidecars travel with their photos: real ExifTool, real PostgreSQL, real files."""

from __future__ import annotations

import hashlib
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


def test_an_edit_arriving_after_its_original_still_reads_the_originals_takeout_json(storage, ingest, query,
                                                                                    database_url):
    """Takeout's ``IMG_1-edited.JPG`` has no JSON of its own: it reads its original's. When the
    edit arrives after the original and its JSON were filed (a second sync, a second export zip,
    a slow phone), that JSON is in the library now, beside the original: the edit still gets its
    date from it, not its own mtime. (CI met this when a clock step delayed the edit by one batch.)"""
    inbox, store = storage["inbox"], storage["storage"]
    folder = inbox / "Takeout" / "Google Photos" / "Summer 2019"
    taken = sidecar_samples.datetime(2019, 7, 8, 10, 0, tzinfo=sidecar_samples.UTC)
    samples.photo(folder / "IMG_0008.JPG", None, seed=8)
    sidecar_samples.takeout_json(folder / "IMG_0008.JPG.json", "IMG_0008.JPG", taken)
    originals = inputs(inbox)
    ingest()
    samples.photo(folder / "IMG_0008-edited.JPG", None, seed=18)
    originals |= inputs(inbox)
    ingest()
    [edit] = query("SELECT * FROM media_assets WHERE source_path LIKE %s", ("%edited%",))
    assert (edit["date_source"], edit["captured_at"]) == ("takeout:photoTakenTime", taken)
    invariants.check(database_url, inbox, store, originals)
