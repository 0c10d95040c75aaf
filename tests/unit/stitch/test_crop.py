"""Cropping to the largest rectangle with picture in it (pure numpy, no images on disk)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from processor.stitch.crop import Rect, _largest_in_grid, crop_to_picture, largest_rectangle


def brute_force(mask: np.ndarray) -> int:
    h, w = mask.shape
    best = 0
    for y0 in range(h):
        for y1 in range(y0 + 1, h + 1):
            for x0 in range(w):
                for x1 in range(x0 + 1, w + 1):
                    if (y1 - y0) * (x1 - x0) > best and mask[y0:y1, x0:x1].all():
                        best = (y1 - y0) * (x1 - x0)
    return best


@settings(max_examples=150, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_the_rectangle_is_all_picture_and_the_largest_there_is(mask):
    r = largest_rectangle(mask)
    assert r.area == brute_force(mask)
    assert r.area == 0 or mask[r.y: r.y + r.h, r.x: r.x + r.w].all()


def wedged_mask(width: int = 1800, height: int = 600, bow: int = 60, tilt: int = 40) -> np.ndarray:
    """Coverage of a sweep: bowed top and bottom edges, steps where frames were tilted."""
    mask = np.zeros((height, width), np.uint8)
    xs = np.arange(width)
    top = (bow * (1 - np.cos(np.pi * 2 * xs / width)) / 2 + tilt * (xs // 600 % 2)).astype(int)
    bottom = height - 1 - top[::-1]
    for x in xs:
        mask[top[x]: bottom[x], x] = 1
    return mask.astype(bool)


def test_a_large_wedged_mask_is_cropped_inside_the_picture_close_to_the_optimum():
    mask = wedged_mask()
    r = largest_rectangle(mask)  # searched on a reduced mask, then grown back
    assert mask[r.y: r.y + r.h, r.x: r.x + r.w].all()
    exact = _largest_in_grid(mask)  # the same method at full size: exact, and slower
    assert r.area >= 0.98 * exact.area


def test_black_wedges_go_and_dark_picture_inside_stays():
    pano = np.full((600, 1800, 3), 200, np.uint8)
    mask = wedged_mask()
    pano[~mask] = 0
    pano[280:320, :] = 0  # a dark band inside the picture (a night sky, a shadow)
    image, rect = crop_to_picture(pano, mask, 0.5)
    assert rect is not None and image.shape[:2] == (rect.h, rect.w)
    corners = image[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners > 0).all()
    assert (image.max(axis=2) == 0).any()  # the dark band is picture: kept


def test_the_uncropped_canvas_is_kept_when_cropping_would_lose_most_of_it():
    mask = np.zeros((400, 1200), bool)
    for x in range(1200):  # a steep diagonal strip: any rectangle inside it is small
        y = int(x * 0.3)
        mask[y: y + 40, x] = True
    pano = np.where(mask[..., None], 180, 0).astype(np.uint8).repeat(3, axis=2)
    image, rect = crop_to_picture(pano, mask, 0.5)
    assert rect is None and image.shape == pano.shape
    assert crop_to_picture(pano, mask, 0.0)[1] == largest_rectangle(mask)
    assert isinstance(largest_rectangle(mask), Rect)
