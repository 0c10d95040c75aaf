"""Cropping a stitched panorama to the largest rectangle with picture in it.

Warping leaves black wedges around the frames. Like Hugin's and OpenStitching's crop, we keep the
largest axis-aligned rectangle inside the coverage mask (where some frame put a pixel), found with
the row-histogram method for the maximal rectangle in a binary matrix, on a reduced copy of the
mask (a reduced cell counts only when every pixel under it is covered), then grown back pixel by
pixel at full size. The mask comes from the warp itself, not from the colours, so a black night
sky inside the picture is never mistaken for a wedge.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_WORK_SIDE = 480  # the rectangle search runs on a mask at most this big (per side)


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


def _largest_in_grid(grid: np.ndarray) -> Rect:
    """Largest all-true axis-aligned rectangle of a small boolean grid (histogram + stack per row)."""
    rows, cols = grid.shape
    heights = np.zeros(cols, dtype=np.int64)
    best = Rect(0, 0, 0, 0)
    for row in range(rows):
        heights = np.where(grid[row], heights + 1, 0)
        hs = heights.tolist() + [0]
        stack: list[tuple[int, int]] = []  # (start column, height), heights increasing
        for col, height in enumerate(hs):
            start = col
            while stack and stack[-1][1] >= height:
                s, h = stack.pop()
                if h * (col - s) > best.area:
                    best = Rect(s, row - h + 1, col - s, h)
                start = s
            stack.append((start, height))
    return best


def _grow(mask: np.ndarray, r: Rect) -> Rect:
    """Shrink ``r`` until it lies inside ``mask``, then grow each side while the next line is covered."""
    x0, y0, x1, y1 = r.x, r.y, r.x + r.w, r.y + r.h
    while x1 > x0 and y1 > y0 and not mask[y0:y1, x0:x1].all():
        x0, y0, x1, y1 = x0 + 1, y0 + 1, x1 - 1, y1 - 1
    if x1 <= x0 or y1 <= y0:
        return Rect(0, 0, 0, 0)
    grown = True
    while grown:
        grown = False
        if y0 > 0 and mask[y0 - 1, x0:x1].all():
            y0, grown = y0 - 1, True
        if y1 < mask.shape[0] and mask[y1, x0:x1].all():
            y1, grown = y1 + 1, True
        if x0 > 0 and mask[y0:y1, x0 - 1].all():
            x0, grown = x0 - 1, True
        if x1 < mask.shape[1] and mask[y0:y1, x1].all():
            x1, grown = x1 + 1, True
    return Rect(x0, y0, x1 - x0, y1 - y0)


def largest_rectangle(mask: np.ndarray) -> Rect:
    """The largest axis-aligned rectangle of true pixels in ``mask`` (exact up to a few pixels)."""
    height, width = mask.shape
    factor = max(1.0, max(height, width) / _WORK_SIDE)
    if factor > 1:
        small = cv2.resize(mask.astype(np.float32), (max(1, int(width / factor)), max(1, int(height / factor))),
                           interpolation=cv2.INTER_AREA)
        grid = small >= 0.999
    else:
        grid = mask.astype(bool)
    cell = _largest_in_grid(grid)
    if cell.area == 0:
        return cell
    fx, fy = width / grid.shape[1], height / grid.shape[0]
    x0, y0 = int(np.ceil(cell.x * fx)), int(np.ceil(cell.y * fy))
    x1, y1 = int((cell.x + cell.w) * fx), int((cell.y + cell.h) * fy)
    return _grow(mask.astype(bool), Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0)))


def crop_to_picture(pano: np.ndarray, mask: np.ndarray, min_keep: float) -> tuple[np.ndarray, Rect | None]:
    """``pano`` cut to the largest covered rectangle, and that rectangle.

    When the rectangle would keep less than ``min_keep`` of the covered pixels (a sweep that
    climbs or curls a lot), the uncropped canvas is returned instead, with ``None``.
    """
    covered = int(np.count_nonzero(mask))
    rect = largest_rectangle(mask)
    if covered == 0 or rect.area < min_keep * covered:
        return pano, None
    return pano[rect.y: rect.y + rect.h, rect.x: rect.x + rect.w], rect
