"""Real sample media made on the fly: Pillow draws, ExifTool writes the metadata, ffmpeg encodes video.

Every generator returns the path it wrote. Images are small (fast tests) unless asked otherwise;
``camera_jpeg(..., megapixels=12)`` makes camera-like files for benchmarks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image


def _pixels(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = (np.sin(x / (17 + seed % 7)) + np.cos(y / (13 + seed % 5))) * 60 + 128
    arr = np.stack([base, base * 0.7 + 30 + seed % 50, 255 - base], -1)
    arr += rng.normal(0, 10, (height, width, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def image(path: Path, fmt: str | None = None, size: tuple[int, int] = (64, 48), seed: int = 0,
          **save: object) -> Path:
    """Write a real image; ``fmt`` defaults from the suffix (JPEG, PNG, WEBP, GIF, TIFF, HEIF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(_pixels(size[0], size[1], seed))
    fmt = fmt or {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF",
                  ".tif": "TIFF", ".tiff": "TIFF", ".heic": "HEIF", ".heif": "HEIF"}[path.suffix.lower()]
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    if fmt == "GIF":
        im = im.convert("P")
    im.save(path, fmt, **save)
    return path


def exif(path: Path, *args: str) -> Path:
    """Write tags with ExifTool, e.g. ``exif(p, "-DateTimeOriginal=2024:01:31 23:59:59")``."""
    subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-m", *args, str(path)], check=True)
    return path


def photo(path: Path, when: str | None = "2024:01:31 23:59:59", *, offset: str | None = None,
          gps: tuple[float, float] | None = None, make: str = "Pixel", model: str = "Pixel 8",
          seed: int = 0, size: tuple[int, int] = (64, 48)) -> Path:
    """A JPEG like a phone writes it: DateTimeOriginal, optional offset and GPS, camera make/model."""
    image(path, "JPEG", size=size, seed=seed, quality=85)
    args = [f"-Make={make}", f"-Model={model}"]
    if when:
        args += [f"-DateTimeOriginal={when}", f"-CreateDate={when}"]
    if offset:
        args += [f"-OffsetTimeOriginal={offset}"]
    if gps:
        lat, lon = gps
        args += [f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
                 f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]
    return exif(path, *args)


def camera_jpeg(path: Path, seed: int, when: str = "2024:06:01 12:00:00", megapixels: int = 12) -> Path:
    """A camera-sized JPEG with noise like a real sensor (so it compresses like a photo)."""
    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    image(path, "JPEG", size=(w, h), seed=seed, quality=90)
    return exif(path, f"-DateTimeOriginal={when}", "-Make=Canon", "-Model=EOS R6")


def video(path: Path, creation_time: str | None = "2024-02-01T10:00:00Z", seconds: float = 1.0,
          size: str = "64x48") -> Path:
    """A short real video (testsrc) with an optional container creation time (UTC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10:duration={seconds}"]
    if path.suffix.lower() == ".avi":
        cmd += ["-c:v", "mjpeg"]
    elif path.suffix.lower() in (".3gp",):
        cmd += ["-c:v", "mpeg4"]
    else:
        cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"] \
            if _has_x264() else ["-c:v", "mpeg4"]
    if creation_time:
        cmd += ["-metadata", f"creation_time={creation_time}"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


_X264: bool | None = None


def _has_x264() -> bool:
    global _X264
    if _X264 is None:
        out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
        _X264 = "libx264" in out
    return _X264


def truncated(src: Path, dest: Path, keep: float = 0.5) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest
