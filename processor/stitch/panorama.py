"""Panoramas: finding candidate sets of shots, checking they overlap, and stitching them.

Pure domain code: no database. Detection works on :class:`Shot` records (what media_assets
knows); overlap checking and stitching work on downscaled copies of the sources loaded with
Pillow (EXIF orientation applied). Source files are only ever opened for reading.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image, ImageOps

from photo_factory import decoding
from processor.stitch import crop

log = logging.getLogger(__name__)

try:  # HEIC/HEIF sources, when the plugin is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Shot:
    """One image asset as detection sees it."""

    id: int
    camera_make: str | None
    camera_model: str | None
    captured_at: datetime | None
    width: int | None
    height: int | None
    orientation: int | None
    source_path: str | None
    settled: bool = True  # ingested long enough ago that its neighbours have arrived too

    @property
    def upright_size(self) -> tuple[int, int] | None:
        """(width, height) after EXIF orientation (5-8 rotate by 90 degrees)."""
        if not self.width or not self.height:
            return None
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


@dataclass
class ShotSet:
    """A candidate panorama: shots in shooting order, and how they were found."""

    detection: str  # 'folder' | 'sequence' | 'manual'
    shots: list[Shot] = field(default_factory=list)

    @property
    def key(self) -> str:
        return ",".join(str(s.id) for s in sorted(self.shots, key=lambda s: s.id))


@dataclass
class Detection:
    """What one scan found: sets to record, and every shot it is done with (members or not)."""

    sets: list[ShotSet]
    scanned_ids: list[int]


class StitchError(Exception):
    """A set that will not become a panorama; ``reason`` is a panoramas.reason code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def pano_folder(source_path: str | None) -> str | None:
    """The inbox folder forcing a set, or None.

    A shot's own folder forces a set when it, or any folder above it, is named ``pano…`` (any
    case): ``Pano lake/``, ``panorama/budapest/``. Each such folder is one set.
    """
    if not source_path:
        return None
    parent = PurePosixPath(source_path.replace("\\", "/")).parent
    if any(part.lower().startswith("pano") for part in parent.parts):
        return str(parent)
    return None


def _continues(prev: Shot, shot: Shot, max_gap_s: float) -> bool:
    """True if ``shot`` can follow ``prev`` in one sweep: same camera, size, seconds apart."""
    if (prev.camera_make, prev.camera_model) != (shot.camera_make, shot.camera_model):
        return False
    if prev.upright_size != shot.upright_size:
        return False
    gap = (shot.captured_at - prev.captured_at).total_seconds()  # type: ignore[operator]
    return 0 <= gap <= max_gap_s


def window(shots: list[Shot], limit: int, max_gap_s: float) -> list[Shot]:
    """The first ``limit`` of ``shots`` (in scan order: camera, time, id), cut back to where no
    sequence runs across the cut, so every sequence in the window is whole. A sequence longer
    than the window (a timelapse) cannot be whole anyway: it is cut at ``limit`` (it is far over
    any set size; a short tail of it in the next window is then rejected by the overlap check)."""
    cut = limit
    while cut > 0 and _continues(shots[cut - 1], shots[cut], max_gap_s):
        cut -= 1
    return shots[:cut] if cut > 0 else shots[:limit]


def detect(shots: list[Shot], *, max_gap_s: float, min_images: int, max_images: int) -> Detection:
    """Group unscanned shots into candidate sets.

    Shots in a folder at or below a ``pano…`` inbox folder form one ``folder`` set per folder. The others form
    ``sequence`` sets: same camera and upright size, each shot at most ``max_gap_s`` after the
    previous one. Groups smaller than ``min_images`` or larger than ``max_images`` are not sets.
    A group with any unsettled shot is left for a later scan (neither a set nor scanned).
    """
    folders: dict[str, list[Shot]] = {}
    rest: list[Shot] = []
    for shot in shots:
        folder = pano_folder(shot.source_path)
        if folder is not None:
            folders.setdefault(folder, []).append(shot)
        else:
            rest.append(shot)
    groups: list[tuple[str, list[Shot]]] = [("folder", g) for g in folders.values()]
    rest.sort(key=lambda s: (s.camera_make or "", s.camera_model or "",
                             s.captured_at or datetime.min, s.id))
    current: list[Shot] = []
    for shot in rest:
        if shot.captured_at is None or not shot.camera_make and not shot.camera_model:
            groups.append(("sequence", [shot]))  # cannot be part of a sequence
            continue
        if current and _continues(current[-1], shot, max_gap_s):
            current.append(shot)
        else:
            if current:
                groups.append(("sequence", current))
            current = [shot]
    if current:
        groups.append(("sequence", current))
    return _settle(groups, min_images=min_images, max_images=max_images)


def _settle(groups: list[tuple[str, list[Shot]]], *, min_images: int, max_images: int) -> Detection:
    sets: list[ShotSet] = []
    scanned: list[int] = []
    for detection, members in groups:
        if not all(s.settled for s in members):
            continue
        scanned.extend(s.id for s in members)
        if detection == "folder":
            members = sorted(members, key=lambda s: (s.captured_at or datetime.min,
                                                     s.source_path or "", s.id))
        if detection == "folder" or min_images <= len(members) <= max_images:
            sets.append(ShotSet(detection, members))
    return Detection(sets, scanned)


#: Memory one source decode may take (estimated from its header before decoding).
DECODE_BUDGET = 1 << 30


def load_image(path: Path, max_megapixels: float, budget_bytes: int = DECODE_BUDGET) -> np.ndarray:
    """Read ``path`` upright (EXIF orientation), as BGR, at most ``max_megapixels`` big; a source
    whose decode would take more than ``budget_bytes`` (a progressive JPEG's coefficient buffers
    do not shrink with the scale) is refused before decoding."""
    try:
        with Image.open(path) as im:
            limit = max_megapixels * 1_000_000
            scale = min(1.0, (limit / max(1, im.width * im.height)) ** 0.5)
            plan = decoding.plan(im, path, longest=max(1, int(max(im.size) * scale)))
            if plan.over(budget_bytes):
                raise StitchError("source_undecodable", f"{path.name}: {plan.over(budget_bytes)}")
            if scale < 1.0:
                im.draft("RGB", (int(im.width * scale), int(im.height * scale)))
            img = ImageOps.exif_transpose(im).convert("RGB")
    except FileNotFoundError as exc:
        raise StitchError("source_missing", str(path.name)) from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StitchError("source_undecodable", f"{path.name}: {exc}") from exc
    pixels = img.width * img.height
    if pixels > max_megapixels * 1_000_000:
        scale = (max_megapixels * 1_000_000 / pixels) ** 0.5
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))),
                         Image.Resampling.LANCZOS)
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


_MATCH_WIDTH = 800  # overlap is checked on copies this wide: cheap and plenty of features


def _gray(img: np.ndarray) -> np.ndarray:
    scale = min(1.0, _MATCH_WIDTH / img.shape[1])
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)


def pair_overlap(a: np.ndarray, b: np.ndarray, *, min_inliers: int = 25) -> tuple[int, float]:
    """Match ``a`` to ``b``: (homography inliers, shift of ``b`` relative to ``a`` as a share of width).

    Few inliers means the shots show different things; a tiny shift means a burst of the same view.
    """
    ga, gb = _gray(a), _gray(b)
    orb = cv2.ORB.create(nfeatures=1500)
    ka, da = orb.detectAndCompute(ga, None)
    kb, db = orb.detectAndCompute(gb, None)
    if da is None or db is None or len(ka) < min_inliers or len(kb) < min_inliers:
        return 0, 0.0
    matches = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < 0.75 * m[1].distance]
    if len(good) < min_inliers:
        return len(good), 0.0
    src = np.array([ka[m.queryIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    dst = np.array([kb[m.trainIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
    if h is None:
        return 0, 0.0
    inliers = int(mask.sum())
    centre = np.array([[[ga.shape[1] / 2, ga.shape[0] / 2]]], dtype=np.float32)
    moved = cv2.perspectiveTransform(centre, h)[0, 0]
    shift = float(np.hypot(*(moved - centre[0, 0]))) / ga.shape[1]
    return inliers, shift


def check_overlap(images: list[np.ndarray], *, min_inliers: int = 25, min_shift: float = 0.08) -> None:
    """Raise :class:`StitchError` unless each shot overlaps the next one and is panned from it."""
    for i in range(len(images) - 1):
        inliers, shift = pair_overlap(images[i], images[i + 1], min_inliers=min_inliers)
        if inliers < min_inliers:
            raise StitchError("no_overlap", f"shots {i + 1} and {i + 2}: {inliers} matching features")
        if shift < min_shift:
            raise StitchError("burst", f"shots {i + 1} and {i + 2} show the same view "
                                       f"(moved {shift:.0%} of the width)")


_STITCH_ERRORS = {
    1: "need_more_images",  # cv2.Stitcher_ERR_NEED_MORE_IMGS
    2: "homography_failed",  # cv2.Stitcher_ERR_HOMOGRAPHY_EST_FAIL
    3: "camera_params_failed",  # cv2.Stitcher_ERR_CAMERA_PARAMS_ADJUST_FAIL
}


@dataclass(frozen=True)
class Stitched:
    """A stitched panorama and what a viewer needs to know about its projection.

    For the rotating-camera model the image is an equirectangular (spherical) projection of
    ``scale`` pixels per radian: the full sphere is ``2π·scale`` by ``π·scale`` and the image is
    the part of it at (``left``, ``top``). The flat model (scans) has no such projection.
    """

    image: np.ndarray
    projection: str | None  # 'equirectangular' or None
    full_width: int | None = None
    full_height: int | None = None
    left: int | None = None
    top: int | None = None
    cropped: bool = False
    canvas_width: int = 0
    canvas_height: int = 0


def stitch(images: list[np.ndarray], *, crop_min_keep: float = 0.5) -> Stitched:
    """Stitch shots into one image with OpenCV's Stitcher, or raise :class:`StitchError`.

    Tries the rotating-camera model (PANORAMA, spherical warp) first, then the flat one (SCANS)
    which suits shots taken by moving sideways. The result is cropped to the largest rectangle
    with picture in it (:mod:`processor.stitch.crop`) unless that keeps less than
    ``crop_min_keep`` of the picture.
    """
    if len(images) < 2:
        raise StitchError("too_few_images", f"{len(images)} image(s)")
    status = -1
    for mode in (cv2.Stitcher_PANORAMA, cv2.Stitcher_SCANS):
        stitcher = cv2.Stitcher.create(mode)
        try:
            status, pano = stitcher.stitch(images)
        except cv2.error as exc:
            log.info("stitcher mode %s raised: %s", mode, exc)
            status, pano = -1, None
        if status == cv2.Stitcher_OK and pano is not None and pano.size:
            return _finish(pano, _sphere(stitcher, images, pano.shape[:2])
                           if mode == cv2.Stitcher_PANORAMA else None, crop_min_keep)
    raise StitchError(_STITCH_ERRORS.get(status, "stitch_error"), f"OpenCV Stitcher status {status}")


Sphere = tuple[float, int, int]  # pixels per radian, canvas origin (x, y) on the warped sphere


def _finish(pano: np.ndarray, sphere: tuple[Sphere, np.ndarray] | None, crop_min_keep: float) -> Stitched:
    mask = sphere[1] if sphere else cv2.cvtColor(pano, cv2.COLOR_BGR2GRAY) > 0
    if not mask.any():
        raise StitchError("stitch_error", "empty result")
    image, rect = crop.crop_to_picture(pano, mask, crop_min_keep)
    height, width = pano.shape[:2]
    if sphere is None:
        return Stitched(image, None, cropped=rect is not None, canvas_width=width, canvas_height=height)
    (scale, x0, y0), _ = sphere
    dx, dy = (rect.x, rect.y) if rect is not None else (0, 0)
    full_w, full_h = round(2 * math.pi * scale), round(math.pi * scale)
    # the warper's u runs from -π·scale (left edge of the sphere), v from 0 (the zenith)
    return Stitched(image, "equirectangular", full_w, full_h, round(x0 + math.pi * scale + dx) % full_w,
                    min(max(0, round(y0 + dy)), max(0, full_h - image.shape[0])), rect is not None, width, height)


def _sphere(stitcher: cv2.Stitcher, images: list[np.ndarray],
            shape: tuple[int, ...]) -> tuple[Sphere, np.ndarray] | None:
    """Where a PANORAMA result lies on the sphere, and its coverage mask; None when unknown.

    Re-warps a white image per camera with a spherical warper at the stitcher's scale (the
    median focal) and its cameras (at compose scale after ``stitch``): their union is where the
    canvas has picture. None when that union does not match the canvas: colours then decide the
    crop, and no projection is claimed.
    """
    cameras = stitcher.cameras()
    if len(cameras) != len(images):
        return None
    focals = sorted(c.focal for c in cameras)
    mid = len(focals) // 2
    scale = focals[mid] if len(focals) % 2 else (focals[mid - 1] + focals[mid]) / 2
    warper = cv2.PyRotationWarper("spherical", float(scale))
    parts = []
    for cam, img in zip(cameras, images, strict=True):
        white = np.full(img.shape[:2], 255, np.uint8)
        corner, warped = warper.warp(white, cam.K().astype(np.float32), cam.R.astype(np.float32),
                                     cv2.INTER_NEAREST, cv2.BORDER_CONSTANT)
        parts.append((corner, warped))
    x0, y0 = min(c[0] for c, _ in parts), min(c[1] for c, _ in parts)
    x1 = max(c[0] + w.shape[1] for c, w in parts)
    y1 = max(c[1] + w.shape[0] for c, w in parts)
    if (y1 - y0, x1 - x0) != tuple(shape[:2]):
        log.info("coverage %sx%s differs from the panorama %sx%s", x1 - x0, y1 - y0, shape[1], shape[0])
        return None
    mask = np.zeros(shape[:2], bool)
    for (cx, cy), warped in parts:
        mask[cy - y0: cy - y0 + warped.shape[0], cx - x0: cx - x0 + warped.shape[1]] |= warped > 127
    return (float(scale), int(x0), int(y0)), mask


def encode_jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    """The panorama as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise StitchError("write_failed", "JPEG encoding failed")
    return buf.tobytes()
