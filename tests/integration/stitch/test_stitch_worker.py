"""The stitch worker against a real PostgreSQL and real sample images."""

from datetime import timedelta
from pathlib import Path

import pytest

from processor.stitch.service import Stitcher, StitchSettings
from processor.stitch.store import StitchStore
from tests.support import pano_samples
from tests.support.db import query

pytestmark = pytest.mark.integration


def cfg(**overrides) -> StitchSettings:
    return StitchSettings(**{"stitch_settle_seconds": 0, "stitch_max_input_megapixels": 0.5, **overrides})


def drain(database_url: str, storage: Path, **overrides) -> Stitcher:
    store = StitchStore(database_url)
    worker = Stitcher(store, cfg(**overrides), storage)
    while worker.work_once():
        pass
    store.close()
    return worker




def overlapping(tmp_path: Path) -> list[Path]:
    return pano_samples.write_overlapping_shots(tmp_path / "overlapping", exif=False)


def unrelated(tmp_path: Path) -> list[Path]:
    return pano_samples.write_unrelated_shots(tmp_path / "unrelated", exif=False)


def add_shots(database_url: str, storage: Path, paths: list[Path], *, gap_s: float = 2,
              folder: str = "DCIM/Camera", **kw) -> list[int]:
    return [pano_samples.insert_asset(database_url, storage, p, source_path=f"{folder}/{p.name}",
                                      captured_local=pano_samples.T0 + timedelta(seconds=gap_s * i), **kw)
            for i, p in enumerate(paths)]


def test_a_sequence_of_overlapping_shots_becomes_a_registered_panorama(database_url, storage, tmp_path):
    paths = pano_samples.write_overlapping_shots(tmp_path / "shots", exif=False)
    ids = add_shots(database_url, storage["storage"], paths)
    filed = [r["library_path"] for r in query(database_url, "SELECT library_path FROM media_assets")]
    before = {p: (storage["storage"] / p).read_bytes() for p in filed}
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT * FROM panoramas")
    assert (pano["status"], pano["detection"], pano["source_count"]) == ("done", "sequence", 3)
    assert pano["output_path"].startswith("Derivatives/panoramas/2024/2024-07-14/PANO_")
    assert (storage["storage"] / pano["output_path"]).read_bytes()[:2] == b"\xff\xd8"
    [derived] = query(database_url, f"SELECT * FROM media_assets WHERE id = {pano['asset_id']}")
    assert derived["media_type"] == "image" and not derived["is_thumbnailed"]
    assert derived["metadata"]["derived_from_panorama"] == pano["id"]
    linked = query(database_url, "SELECT asset_id FROM panorama_sources ORDER BY position")
    assert [r["asset_id"] for r in linked] == ids
    assert {p: (storage["storage"] / p).read_bytes() for p in before} == before


def test_unrelated_shots_seconds_apart_are_rejected_and_stay_separate(database_url, storage, tmp_path):
    add_shots(database_url, storage["storage"], unrelated(tmp_path))
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT status, reason, asset_id FROM panoramas")
    assert pano == {"status": "rejected", "reason": "no_overlap", "asset_id": None}
    assert query(database_url, "SELECT count(*) AS n FROM media_assets")[0]["n"] == 3


def test_a_set_is_recorded_once_and_never_redone(database_url, storage, tmp_path):
    add_shots(database_url, storage["storage"], unrelated(tmp_path))
    drain(database_url, storage["storage"])
    worker = drain(database_url, storage["storage"])
    assert worker.outcomes == {"done": 0, "rejected": 0, "failed": 0, "retried": 0}
    assert query(database_url, "SELECT count(*) AS n FROM panoramas")[0]["n"] == 1


def test_a_pano_folder_is_stitched_even_when_shots_are_minutes_apart(database_url, storage, tmp_path):
    paths = pano_samples.write_overlapping_shots(tmp_path / "p", exif=False)
    add_shots(database_url, storage["storage"], paths, gap_s=120, folder="panorama lake")
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT status, detection FROM panoramas")
    assert pano == {"status": "done", "detection": "folder"}


def test_a_forced_set_that_will_not_stitch_fails_with_its_reason(database_url, storage, tmp_path):
    paths = pano_samples.write_unrelated_shots(tmp_path / "p", exif=False)
    add_shots(database_url, storage["storage"], paths, folder="Pano")
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT status, reason, detection FROM panoramas")
    assert pano["status"] == "failed" and pano["detection"] == "folder"
    assert pano["reason"] in ("need_more_images", "homography_failed", "camera_params_failed")


def test_a_set_whose_source_vanished_fails_as_source_missing(database_url, storage, tmp_path):
    paths = pano_samples.write_overlapping_shots(tmp_path / "s", exif=False)
    add_shots(database_url, storage["storage"], paths)
    gone = query(database_url, "SELECT library_path FROM media_assets ORDER BY id LIMIT 1")[0]
    (storage["storage"] / gone["library_path"]).unlink()
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT status, reason FROM panoramas")
    assert pano == {"status": "failed", "reason": "source_missing"}


def test_shots_still_settling_wait_for_a_later_scan(database_url, storage, tmp_path):
    add_shots(database_url, storage["storage"], overlapping(tmp_path))
    store = StitchStore(database_url)
    worker = Stitcher(store, StitchSettings(stitch_settle_seconds=3600), storage["storage"])
    assert worker.work_once() is False
    store.close()
    assert query(database_url, "SELECT count(*) AS n FROM panoramas")[0]["n"] == 0


def exif_of(path: Path) -> dict:
    import json
    import subprocess

    out = subprocess.run(["exiftool", "-j", "-G1", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def test_a_hand_held_sweep_becomes_a_cropped_photo_sphere_with_the_source_exif(database_url, storage, tmp_path):
    paths = pano_samples.write_rotating_shots(tmp_path / "sweep", exif=False)
    for i, p in enumerate(paths):
        pano_samples.set_exif(p, make="Google", model="Pixel 8", taken=pano_samples.T0 + timedelta(seconds=2 * i),
                              gps=(64.1466, -21.9426))
    add_shots(database_url, storage["storage"], paths)
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT p.status, p.output_path, p.width, p.height, a.metadata FROM panoramas p "
                                 "JOIN media_assets a ON a.id = p.asset_id")
    assert pano["status"] == "done" and pano["metadata"]["cropped"] is True
    assert pano["metadata"]["projection"] == "equirectangular"
    canvas_w, canvas_h = pano["metadata"]["canvas"]
    assert pano["width"] * pano["height"] < canvas_w * canvas_h
    tags = exif_of(storage["storage"] / pano["output_path"])
    assert tags["XMP-GPano:UsePanoramaViewer"] is True
    assert tags["XMP-GPano:ProjectionType"] == "equirectangular"
    assert (tags["XMP-GPano:CroppedAreaImageWidthPixels"], tags["XMP-GPano:CroppedAreaImageHeightPixels"]) == (
        pano["width"], pano["height"])
    assert tags["XMP-GPano:FullPanoWidthPixels"] > pano["width"]
    assert tags["XMP-GPano:FullPanoHeightPixels"] * 2 == pytest.approx(tags["XMP-GPano:FullPanoWidthPixels"], abs=2)
    assert tags["XMP-GPano:SourcePhotosCount"] == 3
    assert (tags["IFD0:Make"], tags["IFD0:Model"], tags["IFD0:Orientation"]) == ("Google", "Pixel 8", 1)
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:07:14 10:30:00"
    assert tags["GPS:GPSLatitude"] == pytest.approx(64.1466, abs=1e-4)
    assert tags["GPS:GPSLongitude"] == pytest.approx(21.9426, abs=1e-4)  # -n: unsigned, with the Ref
    assert tags["GPS:GPSLongitudeRef"] == "W"


def test_shots_in_a_folder_below_a_pano_folder_are_stitched(database_url, storage, tmp_path):
    paths = pano_samples.write_overlapping_shots(tmp_path / "b", exif=False)
    add_shots(database_url, storage["storage"], paths, gap_s=300, folder="panorama/budapest")
    drain(database_url, storage["storage"])
    [pano] = query(database_url, "SELECT status, detection FROM panoramas")
    assert pano == {"status": "done", "detection": "folder"}


def test_with_once_images_still_settling_are_waited_for_not_left_behind(database_url, storage, tmp_path):
    add_shots(database_url, storage["storage"], overlapping(tmp_path))
    store = StitchStore(database_url)
    worker = Stitcher(store, cfg(stitch_settle_seconds=3), storage["storage"], wait_for_settling=True)
    while worker.work_once():
        pass
    store.close()
    assert query(database_url, "SELECT status FROM panoramas") == [{"status": "done"}]


def test_chosen_library_files_are_stitched_after_the_fact_even_if_once_rejected(pf_env, database_url, storage,
                                                                              tmp_path):
    paths = pano_samples.write_overlapping_shots(tmp_path / "late", exif=False)
    ids = add_shots(database_url, storage["storage"], paths, gap_s=60)  # too far apart: no sequence
    drain(database_url, storage["storage"])
    assert query(database_url, "SELECT count(*) AS n FROM panoramas")[0]["n"] == 0
    files = [r["library_path"] for r in query(database_url, "SELECT library_path FROM media_assets ORDER BY id")]
    env = {**pf_env, "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}
    proc = pano_samples.run_cli(env, "stitch", "--set", *files)
    assert "3 images" in proc.stdout
    [pano] = query(database_url, "SELECT id, status, detection FROM panoramas")
    assert (pano["status"], pano["detection"]) == ("done", "manual")
    linked = query(database_url, "SELECT asset_id FROM panorama_sources ORDER BY position")
    assert [r["asset_id"] for r in linked] == ids
    again = pano_samples.run_cli(env, "stitch", "--set", str(storage["storage"] / "Library"))
    assert "done" in again.stdout  # the same choice again: the done panorama, not a second one
    assert query(database_url, "SELECT count(*) AS n FROM panoramas")[0]["n"] == 1
