"""Rendering thumbnails from every still-image format, pure and in memory."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from photo_factory.worker import ItemError
from processor.thumbnails import render
from tests.support import thumbnail_samples as samples

SIZES = (300, 100)


def _render(data: bytes, sizes: tuple[int, ...] = SIZES, max_pixels: int = 50_000_000) -> dict:
    return render.render(io.BytesIO(data), sizes, max_pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation):
    out = _render(samples.jpeg(orientation=orientation))
    assert all(samples.upright_marker_ok(img) for img in out.values())
    assert out[300].size == (300, 200)


def test_each_size_is_derived_largest_first_without_upscaling():
    out = _render(samples.jpeg(600, 400), sizes=(1440, 300, 100))
    assert [img.size for img in out.values()] == [(600, 400), (300, 200), (100, 67)]


def test_a_jpeg_is_decoded_at_a_reduced_dct_scale_when_that_covers_the_size():
    img = render.open_image(io.BytesIO(samples.jpeg(2400, 1600)), 10**9)
    render.decode(img, 300)
    assert img.size == (300, 200)


def test_a_progressive_jpeg_renders():
    assert samples.upright_marker_ok(_render(samples.jpeg(progressive=True))[300])


def test_a_cmyk_jpeg_becomes_rgb_with_its_colours():
    img = _render(samples.cmyk_jpeg())[300]
    assert img.mode == "RGB" and samples.upright_marker_ok(img)


def test_a_16_bit_png_keeps_its_tones_instead_of_clipping_to_white():
    img = _render(samples.png16())[300].convert("L")
    assert img.getpixel((10, 10)) > 200
    assert img.getpixel((290, 10)) < 60


def test_a_palette_png_with_transparency_is_flattened():
    img = _render(samples.palette_png())[300]
    assert img.mode == "RGB"


@pytest.mark.parametrize("make", [samples.heic, samples.webp, samples.tiff], ids=["heic", "webp", "tiff"])
def test_other_still_formats_render_upright(make):
    assert samples.upright_marker_ok(_render(make())[300])


def test_a_gif_uses_its_first_frame():
    assert samples.upright_marker_ok(_render(samples.gif())[300])


def test_a_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ItemError) as err:
        _render(samples.bomb_png())
    assert err.value.reason_code == "decompression_bomb" and not err.value.retryable


def test_the_pixel_limit_is_configurable():
    with pytest.raises(ItemError) as err:
        _render(samples.jpeg(600, 400), max_pixels=50_000)  # decoded at 1/2 scale: 60,000 pixels
    assert err.value.reason_code == "decompression_bomb"


def test_the_pixel_limit_counts_what_a_baseline_jpeg_decodes_after_shrinking_on_load():
    out = _render(samples.jpeg(2400, 1600), max_pixels=100_000)  # 3.8 MP, decoded at 1/8: 60,000
    assert max(out[300].size) == 300


def test_a_progressive_jpeg_is_refused_by_its_coefficient_buffers_whatever_the_scale():
    data = samples.jpeg(2400, 1600, progressive=True)
    with pytest.raises(ItemError) as err:
        render.render(io.BytesIO(data), SIZES, 10**9, budget_bytes=4 << 20)
    assert err.value.reason_code == "decompression_bomb" and "progressive" in err.value.message
    assert max(render.render(io.BytesIO(data), SIZES, 10**9, budget_bytes=64 << 20)[300].size) == 300


def test_a_truncated_jpeg_fails_as_truncated():
    with pytest.raises(ItemError) as err:
        _render(samples.truncated_jpeg())
    assert err.value.reason_code == "truncated_file"


def test_garbage_fails_with_a_reason():
    with pytest.raises(ItemError) as err:
        _render(samples.corrupt_file())
    assert err.value.reason_code in ("corrupt_file", "unsupported_format", "truncated_file")


def test_thumbnails_encode_as_jpeg_or_webp():
    img = Image.new("RGB", (64, 48), (1, 2, 3))
    assert render.encode(img, render.Encoding("jpeg", 80))[:2] == b"\xff\xd8"
    assert render.encode(img, render.Encoding("webp", 80))[8:12] == b"WEBP"


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_rotated_heic_comes_out_upright(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = samples.encode(samples.stored_for(orientation), "HEIF", exif=exif.tobytes(), quality=80)
    assert samples.upright_marker_ok(_render(data)[300])


def test_an_embedded_colour_profile_is_converted_to_srgb():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = samples.encode(Image.new("RGB", (500, 300), (200, 20, 20)), "JPEG", icc_profile=profile)
    img = _render(data)[300]
    assert img.mode == "RGB" and "icc_profile" not in img.info
    assert all(abs(a - b) < 6 for a, b in zip(img.getpixel((5, 5)), (200, 20, 20), strict=True))
