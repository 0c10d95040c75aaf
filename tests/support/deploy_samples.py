"""Real sample photos for the deployment tests: JPEGs whose EXIF date and GPS are written by ExifTool."""

from __future__ import annotations

import hashlib
import random
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class Sample:
    path: Path
    taken: datetime
    lat: float
    lon: float
    sha256: str


#: Real places, so that offline reverse geocoding has something to name.
PLACES = [(48.8584, 2.2945), (52.5163, 13.3777), (40.6892, -74.0445), (35.6586, 139.7454)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_photo(path: Path, taken: datetime, lat: float, lon: float, *,
               size: tuple[int, int] = (640, 480), noise: bool = False, seed: int = 1) -> Sample:
    """Write a JPEG at ``path`` with DateTimeOriginal and GPS set by ExifTool.

    ``noise`` fills it with random pixels, which JPEG cannot compress: about 2-3 bytes per pixel,
    the way to make a large file that is still a real, decodable photo.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if noise:
        rnd = random.Random(seed)
        img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (40 + seed * 37 % 200, 90, 160))
    img.save(path, "JPEG", quality=95)
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-DateTimeOriginal={stamp}", f"-CreateDate={stamp}",
         "-Make=PhotoFactory", "-Model=TestCam",
         f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
         f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}", str(path)],
        check=True,
    )
    return Sample(path, taken, lat, lon, sha256_of(path))


def make_album(folder: Path, count: int, *, prefix: str = "IMG") -> list[Sample]:
    """``count`` small photos taken on different days at the places of :data:`PLACES`."""
    samples = []
    for i in range(count):
        lat, lon = PLACES[i % len(PLACES)]
        taken = datetime(2023, 5 + i % 6, 1 + i, 10, 30, i)
        samples.append(make_photo(folder / f"{prefix}_{1000 + i}.jpg", taken, lat, lon, seed=i + 1))
    return samples
