"""Panoramas: finding candidate sets of shots, checking they overlap, and stitching them.

Pure domain code: no database. Detection works on :class:`Shot` records (what media_assets
knows); overlap checking and stitching work on downscaled copies of the sources loaded with
Pillow (EXIF orientation applied). Source files are only ever opened for reading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image, ImageOps

from photo_factory import decoding

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

    detection: str  # 'folder' | 'sequence'
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
    """The inbox folder forcing a set (its name starts with ``pano``, any case), or None."""
    if not source_path:
        return None
    parent = PurePosixPath(source_path.replace("\\", "/")).parent
    if parent.name.lower().startswith("pano"):
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


def detect(shots: list[Shot], *, max_gap_s: float, min_images: int, max_images: int) -> Detection:
    """Group unscanned shots into candidate sets.

    Shots in a ``pano…`` inbox folder form one ``folder`` set per folder. The others form
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


def stitch(images: list[np.ndarray]) -> np.ndarray:
    """Stitch shots into one image with OpenCV's Stitcher, or raise :class:`StitchError`.

    Tries the rotating-camera model (PANORAMA) first, then the flat one (SCANS) which suits
    shots taken by moving sideways.
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
            return _crop_black(pano)
    raise StitchError(_STITCH_ERRORS.get(status, "stitch_error"), f"OpenCV Stitcher status {status}")


def _crop_black(pano: np.ndarray) -> np.ndarray:
    """Trim the all-black border rows and columns warping leaves around the panorama."""
    mask = cv2.cvtColor(pano, cv2.COLOR_BGR2GRAY) > 0
    rows, cols = np.where(mask.any(axis=1))[0], np.where(mask.any(axis=0))[0]
    if rows.size == 0 or cols.size == 0:
        raise StitchError("stitch_error", "empty result")
    return pano[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def encode_jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    """The panorama as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise StitchError("write_failed", "JPEG encoding failed")
    return buf.tobytes()
