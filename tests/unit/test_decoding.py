"""Decode plans from headers alone (photo_factory/decoding.py)."""

import pytest
from PIL import Image

from photo_factory import decoding
from tests.support import crafted


@pytest.fixture(autouse=True)
def _no_pillow_limit(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # the plan is the limit


def test_a_progressive_jpeg_costs_its_coefficient_buffers_at_any_scale(tmp_path):
    f = crafted.jpeg_with_size(tmp_path / "p.jpg", 65000, 65000, progressive=True, source=(64, 48))
    with Image.open(f) as im:
        plan = decoding.plan(im, f)
    assert plan.scale == 8 and "progressive" in plan.why
    assert plan.bytes > 12 * 10**9  # 65000² × 1.5 components × 128 bytes per 64 pixels, 4:2:0
    assert plan.over(256 << 20)


def test_a_baseline_jpeg_at_one_eighth_scale_streams(tmp_path):
    f = crafted.jpeg_with_size(tmp_path / "b.jpg", 65000, 65000, progressive=False, source=(64, 48))
    with Image.open(f) as im:
        plan = decoding.plan(im, f, longest=1440)
    assert plan.scale == 8 and plan.pixels == 8125 * 8125
    assert plan.bytes < 400 << 20


def test_a_png_decodes_whole(tmp_path):
    f = crafted.png_with_size(tmp_path / "i.png", 100000, 100000)
    with Image.open(f) as im:
        assert decoding.plan(im, f).bytes >= 4 * 10**10


def test_a_webp_canvas_is_read_before_pillow_opens_it(tmp_path):
    f = crafted.webp_with_canvas(tmp_path / "w.webp", 16384, 16384)
    assert decoding.webp_size(f) == (16384, 16384)
    assert decoding.open_cost(f).over(1 << 30)
