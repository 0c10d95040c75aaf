"""A large resize split into strips done at once (PF_THUMBNAIL_THREADS) gives the pixels of one
resize: each strip's filter reads the source rows beyond its band, as the whole resize does, so
there is no seam. Pillow rounds its intermediate pass to 8 bits, and a strip may round a level
the other way: no pixel is more than 1 level (of 255) from the one resize's. Property-based over
sizes, aspect ratios, modes and thread counts."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from processor.thumbnails import render


@pytest.fixture
def threads():
    def use(n: int) -> None:
        render.configure_threads(n)

    yield use
    render.configure_threads(1)


def noise(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    """Detail in every row (a flat image would hide a strip's misplaced filter window)."""
    rgb = Image.effect_noise(size, 64 + seed % 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    return Image.blend(rgb, gradient, 0.5).convert(mode)


@settings(max_examples=40, deadline=None)
@given(w=st.integers(300, 1800), h=st.integers(300, 1800), longest=st.integers(256, 1200),
       mode=st.sampled_from(["RGB", "L", "RGBA", "CMYK"]), n=st.integers(2, 4), seed=st.integers(0, 999))
def test_strips_are_pixel_identical_to_one_resize(w, h, longest, mode, n, seed):
    img = noise(mode, (w, h), seed)
    render.configure_threads(1)
    try:
        whole = render.shrink(img, longest)
        render.configure_threads(n)
        split = render.shrink(img, longest)
    finally:
        render.configure_threads(1)
    assert split.size == whole.size and split.mode == whole.mode
    assert all(hi <= 1 for _lo, hi in _extrema(ImageChops.difference(whole, split)))


def _extrema(img: Image.Image) -> list[tuple[int, int]]:
    ext = img.getextrema()
    return [ext] if img.mode == "L" else list(ext)  # type: ignore[list-item]


def test_a_seam_would_be_seen():
    """The check above is not blind: strips cut from their bands alone (no rows beyond the
    edges for the filter) differ from the one resize by far more than a level at the seam."""
    img = noise("RGB", (2000, 1500), 3)
    whole = img.resize((1440, 1080), Image.Resampling.HAMMING)
    top = img.crop((0, 0, 2000, 750)).resize((1440, 540), Image.Resampling.HAMMING)
    bottom = img.crop((0, 750, 2000, 1500)).resize((1440, 540), Image.Resampling.HAMMING)
    naive = Image.new("RGB", (1440, 1080))
    naive.paste(top, (0, 0))
    naive.paste(bottom, (0, 540))
    assert max(hi for _lo, hi in _extrema(ImageChops.difference(whole, naive))) > 1


def test_a_12_mp_decode_is_resized_in_two_threads_and_a_small_size_in_one(threads, monkeypatch):
    threads(2)
    img = noise("RGB", (2000, 1500), 1)
    seen: list[str] = []
    plain = Image.Image.resize

    def spy(self, *args, **kwargs):
        seen.append(threading.current_thread().name)
        return plain(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    assert render.shrink(img, 1440).size == (1440, 1080)
    assert len(seen) == 2 and any(name.startswith("resize") for name in seen)
    seen.clear()
    assert render.shrink(img, 256).size == (256, 192)  # under SPLIT_MIN_ROWS rows: one piece
    assert len(seen) == 1


def test_one_thread_never_starts_a_pool(threads):
    threads(1)
    assert render._pool is None
