"""Overlap checks and stitching on generated sample images (real OpenCV, no database)."""

from pathlib import Path

import pytest
from PIL import Image

from processor.stitch import panorama
from tests.support import pano_samples


def load(paths: list[Path]):
    return [panorama.load_image(p, 1.0) for p in paths]


def test_three_overlapping_shots_stitch_into_one_wider_image(tmp_path: Path):
    shots = load(pano_samples.write_overlapping_shots(tmp_path, exif=False))
    panorama.check_overlap(shots)
    pano = panorama.stitch(shots)
    assert pano.shape[1] > 2 * shots[0].shape[1]
    assert panorama.encode_jpeg(pano)[:2] == b"\xff\xd8"


def test_unrelated_shots_are_rejected_for_lack_of_overlap(tmp_path: Path):
    shots = load(pano_samples.write_unrelated_shots(tmp_path, exif=False))
    with pytest.raises(panorama.StitchError) as err:
        panorama.check_overlap(shots)
    assert err.value.reason == "no_overlap"


def test_a_burst_of_the_same_view_is_not_a_panorama(tmp_path: Path):
    path = pano_samples.write_overlapping_shots(tmp_path, count=3, exif=False)[0]
    shot = panorama.load_image(path, 1.0)
    with pytest.raises(panorama.StitchError) as err:
        panorama.check_overlap([shot, shot.copy()])
    assert err.value.reason == "burst"


def test_large_sources_are_downscaled_to_the_megapixel_budget(tmp_path: Path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 120, 200)).save(path)
    img = panorama.load_image(path, 0.5)
    assert img.shape[0] * img.shape[1] <= 500_000
    assert img.shape[1] > img.shape[0]


def test_a_missing_or_broken_source_has_its_own_reason(tmp_path: Path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(panorama.StitchError) as missing:
        panorama.load_image(tmp_path / "gone.jpg", 1.0)
    with pytest.raises(panorama.StitchError) as undecodable:
        panorama.load_image(broken, 1.0)
    assert (missing.value.reason, undecodable.value.reason) == ("source_missing", "source_undecodable")


def test_a_single_image_cannot_be_stitched(tmp_path: Path):
    with pytest.raises(panorama.StitchError) as err:
        panorama.stitch(load(pano_samples.write_unrelated_shots(tmp_path, count=1, exif=False)))
    assert err.value.reason == "too_few_images"


def test_a_source_whose_decode_would_not_fit_the_budget_is_refused_before_decoding(tmp_path):
    from tests.support import crafted

    f = crafted.jpeg_with_size(tmp_path / "p.jpg", 65000, 65000, progressive=True, source=(64, 48))
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with pytest.raises(panorama.StitchError) as err:
            panorama.load_image(f, 40.0)
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    assert err.value.reason == "source_undecodable" and "progressive" in err.value.detail
