"""Steps for panoramas.feature and panorama_viewers.feature: the real librarian and stitcher CLIs
on generated sweeps, the panoramas read back with ExifTool."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import cv2
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import pano_samples
from tests.support.pano_samples import query, run_cli

scenarios("panoramas.feature", "panorama_viewers.feature")

WRITERS = {"overlapping": pano_samples.write_overlapping_shots,
           "unrelated": pano_samples.write_unrelated_shots}


@given(parsers.parse("three {kind} shots taken {gap:d} seconds apart with one camera "
                     'in the inbox folder "{folder}"'))
def shots_in_inbox(kind: str, gap: int, folder: str, storage: dict[str, Path]) -> None:
    WRITERS[kind](storage["inbox"] / folder, count=3, gap_s=gap)


@when("the librarian and the stitcher have run")
def run_librarian_and_stitcher(pf_env: dict[str, str]) -> None:
    env = {**pf_env, "PF_STITCH_SETTLE_SECONDS": "0", "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}
    run_cli(env, "librarian", "--once")
    run_cli(env, "stitch", "--once")


@then(parsers.parse('there is 1 stitched panorama under "{folder}"'))
def one_panorama(folder: str, database_url: str, storage: dict[str, Path]) -> None:
    [pano] = query(database_url, "SELECT * FROM panoramas WHERE status = 'done'")
    assert pano["output_path"].startswith(folder + "/")
    assert (storage["storage"] / pano["output_path"]).read_bytes()[:2] == b"\xff\xd8"
    assert list((storage["storage"] / folder).rglob("*.jpg")) == [storage["storage"] / pano["output_path"]]


@then(parsers.parse("the panorama is an image asset linked to its {count:d} shots"))
def panorama_asset(count: int, database_url: str) -> None:
    [row] = query(database_url, """
        SELECT a.media_type, a.metadata, p.id, (SELECT count(*) FROM panorama_sources s
                                                 WHERE s.panorama_id = p.id) AS sources
          FROM panoramas p JOIN media_assets a ON a.id = p.asset_id""")
    assert row["media_type"] == "image"
    assert row["metadata"]["derived_from_panorama"] == row["id"]
    assert row["sources"] == count


@then("every filed photo is unchanged")
def originals_unchanged(database_url: str, storage: dict[str, Path]) -> None:
    rows = query(database_url, "SELECT sha256, library_path FROM media_assets "
                               "WHERE library_path LIKE 'Library/%'")
    assert len(rows) == 3
    for row in rows:
        data = (storage["storage"] / row["library_path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]


@then("there is no stitched panorama")
def no_panorama(database_url: str, storage: dict[str, Path]) -> None:
    assert query(database_url, "SELECT id FROM panoramas WHERE status = 'done'") == []
    assert not list((storage["storage"] / "Derivatives" / "panoramas").rglob("*.jpg"))


@then(parsers.parse('the candidate set is recorded as rejected because of "{reason}"'))
def rejected(reason: str, database_url: str) -> None:
    rows = query(database_url, "SELECT status, reason FROM panoramas")
    assert rows == [{"status": "rejected", "reason": reason}]


@then(parsers.parse('the panorama was found by "{detection}"'))
def found_by(detection: str, database_url: str) -> None:
    assert query(database_url, "SELECT detection FROM panoramas") == [{"detection": detection}]


GPS = (47.4979, 19.0402)


@given(parsers.parse('a hand-held sweep of {count:d} shots with camera, date and GPS in the inbox folder "{folder}"'))
def sweep_in_inbox(count: int, folder: str, storage: dict[str, Path]) -> None:
    paths = pano_samples.write_rotating_shots(storage["inbox"] / folder, count=count, exif=False)
    for i, path in enumerate(paths):
        pano_samples.set_exif(path, make="Google", model="Pixel 8",
                              taken=pano_samples.T0 + timedelta(seconds=2 * i), gps=GPS)


@when(parsers.parse("the librarian has run and then the stitcher with a settle time of {seconds:d} seconds"))
def librarian_then_stitcher(seconds: int, pf_env: dict[str, str]) -> None:
    env = {**pf_env, "PF_STITCH_SETTLE_SECONDS": str(seconds), "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}
    run_cli(env, "librarian", "--once")
    run_cli(env, "stitch", "--once")  # right away: the fresh shots are (most likely) still settling


@when("the stitcher is asked to stitch the library folder of that day")
def stitch_chosen(pf_env: dict[str, str], storage: dict[str, Path]) -> None:
    env = {**pf_env, "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}
    run_cli(env, "stitch", "--set", str(storage["storage"] / "Library" / "2024" / "2024-07-14"))


def _panorama(database_url: str, storage: dict[str, Path]) -> Path:
    [row] = query(database_url, "SELECT output_path FROM panoramas WHERE status = 'done'")
    return storage["storage"] / row["output_path"]


def _tags(path: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-G1", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


@then("the panorama has no black wedge in its corners")
def no_wedges(database_url: str, storage: dict[str, Path]) -> None:
    img = cv2.imread(str(_panorama(database_url, storage)))
    h, w = img.shape[:2]
    for y, x in ((0, 0), (0, w - 8), (h - 8, 0), (h - 8, w - 8)):
        assert img[y: y + 8, x: x + 8].mean() > 30, (x, y)


@then(parsers.parse("ExifTool reads the panorama as an equirectangular Photo Sphere of {count:d} photos"))
def photo_sphere(count: int, database_url: str, storage: dict[str, Path]) -> None:
    path = _panorama(database_url, storage)
    tags = _tags(path)
    h, w = cv2.imread(str(path)).shape[:2]
    assert tags["XMP-GPano:UsePanoramaViewer"] is True
    assert tags["XMP-GPano:ProjectionType"] == "equirectangular"
    assert (tags["XMP-GPano:CroppedAreaImageWidthPixels"], tags["XMP-GPano:CroppedAreaImageHeightPixels"]) == (w, h)
    assert tags["XMP-GPano:FullPanoWidthPixels"] > w and tags["XMP-GPano:FullPanoHeightPixels"] > h
    assert tags["XMP-GPano:SourcePhotosCount"] == count


@then("the panorama carries the first shot's camera, date and GPS, upright")
def source_exif(database_url: str, storage: dict[str, Path]) -> None:
    tags = _tags(_panorama(database_url, storage))
    assert (tags["IFD0:Make"], tags["IFD0:Model"], tags["IFD0:Orientation"]) == ("Google", "Pixel 8", 1)
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:07:14 10:30:00"
    assert abs(tags["GPS:GPSLatitude"] - GPS[0]) < 1e-4 and abs(tags["GPS:GPSLongitude"] - GPS[1]) < 1e-4
