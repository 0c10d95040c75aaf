"""Sample images for the panorama and places tests, and a factory for their media_assets rows.

* :func:`landscape` paints one wide, photographic-looking scene (sky gradient, hills, many
  textured objects) that feature detectors find plenty of corners in.
* :func:`write_overlapping_shots` cuts it into overlapping shots, like a phone panning left to right.
* :func:`write_rotating_shots` renders what a phone turning on the spot sees (pinhole views of a
  spherical scene, a little tilt and roll): stitched, such sweeps leave black wedges to crop.
* :func:`write_unrelated_shots` paints unrelated scenes, same camera, seconds apart.
* :func:`set_exif` writes Make/Model/DateTimeOriginal (and GPS) with the real ``exiftool``.
* :func:`insert_asset` registers a file under ``<storage>/Library/...`` as the librarian would.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import psycopg2
import psycopg2.extras

from tests.support.cli import run_cli  # noqa: F401  (re-exported for the step modules)
from tests.support.db import query  # noqa: F401  (re-exported for the panorama tests)

T0 = datetime(2024, 7, 14, 10, 30, 0)


def landscape(width: int = 1800, height: int = 500, seed: int = 7) -> np.ndarray:
    """A deterministic, feature-rich BGR scene of ``width`` x ``height``."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.uint8)
    sky = np.linspace(0, 1, height // 2)[:, None]
    tint = rng.integers(0, 60, 3)
    for c, (top, bottom) in enumerate(((200, 120), (150, 90), (90, 60))):
        img[: height // 2, :, c] = (top - (top - bottom) * sky + tint[c] * 0.3).astype(np.uint8)
    xs = np.arange(width)
    ridge = height // 2 + (30 * np.sin(xs / (70 + seed)) + 20 * np.sin(xs / 23.0 + seed)).astype(int)
    for x in range(width):
        img[ridge[x]:, x] = (40 + seed % 30, 110 - seed % 40, 60)
    for _ in range(width // 4):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (x, y), int(rng.integers(4, 22)), color, -1, cv2.LINE_AA)
        elif kind == 1:
            w, h = int(rng.integers(6, 40)), int(rng.integers(6, 40))
            cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
        else:
            pts = rng.integers(-25, 25, (4, 2)) + (x, y)
            cv2.polylines(img, [pts.astype(np.int32)], True, color, 2, cv2.LINE_AA)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def cut_shots(scene: np.ndarray, count: int = 3, overlap: float = 0.4) -> list[np.ndarray]:
    """Cut ``scene`` into ``count`` equally wide shots overlapping by ``overlap`` of a shot."""
    width = scene.shape[1]
    shot_w = int(width / (count - (count - 1) * overlap))
    step = int(shot_w * (1 - overlap))
    return [scene[:, i * step: i * step + shot_w].copy() for i in range(count)]


def set_exif(path: Path, *, make: str = "Pixel", model: str = "Pixel 8",
             taken: datetime = T0, gps: tuple[float, float] | None = None) -> None:
    """Write camera and capture-time tags (and optionally GPS) in place with exiftool."""
    args = ["exiftool", "-q", "-overwrite_original", f"-Make={make}", f"-Model={model}",
            f"-DateTimeOriginal={taken:%Y:%m:%d %H:%M:%S}"]
    if gps is not None:
        lat, lon = gps
        args += [f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
                 f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]
    subprocess.run([*args, str(path)], check=True)


def rotating_views(count: int = 3, *, step_deg: float = 28.0, hfov_deg: float = 60.0,
                   size: tuple[int, int] = (640, 480), tilt_deg: float = 4.0, roll_deg: float = 2.0,
                   seed: int = 7) -> list[np.ndarray]:
    """Views of one scene from a camera turning ``step_deg`` between shots, as a hand-held sweep.

    The scene is an equirectangular picture of 180 by 90 degrees; each view is a pinhole camera
    of ``hfov_deg`` looking ``step_deg`` further right, tilted and rolled a little, alternately.
    """
    scene = landscape(2400, 1200, seed=seed)
    sh, sw = scene.shape[:2]
    w, h = size
    f = (w / 2) / np.tan(np.radians(hfov_deg) / 2)
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    rays = np.stack([(u - w / 2) / f, (v - h / 2) / f, np.ones_like(u)], axis=-1)
    views = []
    for i in range(count):
        yaw = np.radians(-step_deg * (count - 1) / 2 + i * step_deg)
        pitch = np.radians(tilt_deg * (1 if i % 2 else -1))
        roll = np.radians(roll_deg * (1 if i % 2 == 0 else -1))
        rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
        ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
        rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
        world = rays @ (ry @ rx @ rz).T
        lon = np.arctan2(world[..., 0], world[..., 2])
        lat = -np.arctan2(world[..., 1], np.hypot(world[..., 0], world[..., 2]))
        map_x = ((lon + np.pi / 2) / np.pi * sw).astype(np.float32)
        map_y = ((np.pi / 4 - lat) / (np.pi / 2) * sh).astype(np.float32)
        views.append(cv2.remap(scene, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return views


def _write(images: list[np.ndarray], folder: Path, prefix: str, start: datetime, gap_s: float,
           exif: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = folder / f"{prefix}{i + 1:04d}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if exif:
            set_exif(path, taken=start + timedelta(seconds=gap_s * i))
        paths.append(path)
    return paths


def write_overlapping_shots(folder: Path, *, count: int = 3, start: datetime = T0, gap_s: float = 2,
                            prefix: str = "PXL_", seed: int = 7, exif: bool = True) -> list[Path]:
    """Overlapping JPEG shots of one scene, taken ``gap_s`` seconds apart with camera EXIF."""
    return _write(cut_shots(landscape(seed=seed), count), folder, prefix, start, gap_s, exif)


def write_rotating_shots(folder: Path, *, count: int = 3, start: datetime = T0, gap_s: float = 2,
                         prefix: str = "PXL_", seed: int = 7, exif: bool = True) -> list[Path]:
    """A hand-held sweep turning on the spot (see :func:`rotating_views`), with camera EXIF."""
    return _write(rotating_views(count, seed=seed), folder, prefix, start, gap_s, exif)


def write_unrelated_shots(folder: Path, *, count: int = 3, start: datetime = T0, gap_s: float = 2,
                          prefix: str = "IMG_", exif: bool = True, seed: int = 100) -> list[Path]:
    """Unrelated scenes (nothing in common), same camera, ``gap_s`` seconds apart."""
    scenes = [landscape(700, 500, seed=seed + i * 37) for i in range(count)]
    return _write(scenes, folder, prefix, start, gap_s, exif)


def insert_asset(database_url: str, storage: Path, file: Path, *, source_path: str | None = None,
                 captured_local: datetime = T0, make: str | None = "Pixel",
                 model: str | None = "Pixel 8", location: dict | None = None,
                 width: int | None = None, height: int | None = None,
                 orientation: int | None = 1) -> int:
    """Move ``file`` to ``<storage>/Library/YYYY/YYYY-MM-DD/`` and insert its media_assets row."""
    data = file.read_bytes()
    rel = Path("Library") / f"{captured_local:%Y}" / f"{captured_local:%Y-%m-%d}" / file.name
    dest = storage / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    file.replace(dest)
    if width is None or height is None:
        img = cv2.imread(str(dest), cv2.IMREAD_REDUCED_COLOR_2)
        height, width = (img.shape[0] * 2, img.shape[1] * 2) if img is not None else (None, None)
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                """INSERT INTO media_assets (sha256, library_path, original_name, source_path,
                       size_bytes, media_type, mime_type, file_type, captured_at, captured_local,
                       capture_date, utc_offset_min, date_source, tz_source, camera_make,
                       camera_model, width, height, orientation, location)
                   VALUES (%s, %s, %s, %s, %s, 'image', 'image/jpeg', 'JPEG', %s, %s, %s, 0,
                       'EXIF:DateTimeOriginal', 'configured', %s, %s, %s, %s, %s, %s)
                   RETURNING id""",
                (hashlib.sha256(data).hexdigest(), str(rel), file.name,
                 source_path or file.name, len(data), captured_local.isoformat() + "+00:00",
                 captured_local, captured_local.date(), make, model, width, height, orientation,
                 psycopg2.extras.Json(location) if location else None),
            )
            return cur.fetchone()[0]
    finally:
        conn.close()




