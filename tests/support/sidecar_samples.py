"""Sidecar samples: XMP files written by ExifTool, Google Takeout JSON in every naming form.

``python -m tests.support.sidecar_samples tests/samples/sidecars`` writes the committed set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from librarian import sidecars
from tests.support import samples


def xmp(path: Path, **tags: str | int | float | list[str]) -> Path:
    """An XMP sidecar made by ExifTool from nothing, e.g. ``xmp(p, DateTimeOriginal="2019:05:06 07:08:09")``
    (names are XMP tag names; lists repeat the tag)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = []
    for k, v in tags.items():
        for item in v if isinstance(v, list) else [v]:
            args.append(f"-XMP:{k}={item}")
    subprocess.run(["exiftool", "-q", "-q", "-m", *args, str(path)], check=True)
    return path


def takeout_json(path: Path, title: str, taken: datetime | None, *, lat: float = 0.0, lon: float = 0.0,
                 description: str = "", people: tuple[str, ...] = ()) -> Path:
    """A Google Takeout photo JSON as Takeout writes it (timestamps are UTC epoch strings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = str(int(taken.timestamp())) if taken else "0"
    obj = {
        "title": title, "description": description, "imageViews": "3",
        "creationTime": {"timestamp": "1700000000", "formatted": "14 Nov 2023, 22:13:20 UTC"},
        "photoTakenTime": {"timestamp": stamp, "formatted": ""},
        "geoData": {"latitude": lat, "longitude": lon, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "geoDataExif": {"latitude": lat, "longitude": lon, "altitude": 0.0, "latitudeSpan": 0.0,
                        "longitudeSpan": 0.0},
        "url": "https://photos.google.com/photo/AF1Qip", "googlePhotosOrigin": {"mobileUpload": {}},
    }
    if people:
        obj["people"] = [{"name": n} for n in people]
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def album_json(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": title, "description": "", "access": "protected",
                                "date": {"timestamp": "1562000000", "formatted": ""}}), encoding="utf-8")
    return path


def cut(text: str, limit: int = sidecars.TAKEOUT_LIMIT) -> str:
    """``text`` cut to ``limit`` UTF-16 code units, never inside a character (Takeout's rule)."""
    out, units = "", 0
    for ch in text:
        n = len(ch.encode("utf-16-le")) // 2
        if units + n > limit:
            break
        out, units = out + ch, units + n
    return out


@dataclass(frozen=True)
class Expected:
    photo: str  # inbox path of the photo, relative to the export root
    json: str | None  # the JSON that should end beside it (relative), None when it reads another's
    taken: datetime  # photoTakenTime (UTC)


def takeout_export(root: Path, album: str = "Summer 2019") -> list[Expected]:
    """A Takeout album folder with every naming form; photos carry no date of their own."""
    folder = root / "Takeout" / "Google Photos" / album
    out: list[Expected] = []

    def add(photo: str, json_name: str | None, day: int, seed: int, title: str | None = None,
            owns: bool = True) -> None:
        taken = datetime(2019, 7, day, 10, 0, tzinfo=UTC)
        samples.photo(folder / photo, None, seed=seed)
        if json_name:
            takeout_json(folder / json_name, title or photo, taken, description=f"day {day}",
                         people=("Ann",) if day == 1 else ())
        rel = f"Takeout/Google Photos/{album}/"
        out.append(Expected(rel + photo, (rel + json_name) if json_name and owns else None, taken))

    add("IMG_0001.JPG", "IMG_0001.JPG.json", 1, 1)
    add("IMG_0002.JPG", "IMG_0002.json", 2, 2)
    add("IMG_0003.JPG", "IMG_0003.JPG.supplemental-metadata.json", 3, 3)
    long_new = "Screenshot_20190704_101010_com.example.messenger.jpg"
    add(long_new, cut(long_new + ".supplemental-metadata") + ".json", 4, 4)
    long_old = "PXL_20190705_101010253.LONG_EXPOSURE-02.ORIGINAL.jpg"
    add(long_old, cut(long_old) + ".json", 5, 5)
    add("IMG_0006.JPG", "IMG_0006.JPG.json", 6, 6)
    add("IMG_0006(1).JPG", "IMG_0006.JPG(1).json", 7, 7, title="IMG_0006.JPG")
    add("IMG_0008.JPG", "IMG_0008.JPG.json", 8, 8)
    # the edit has no JSON of its own: it reads its original's (same day)
    samples.photo(folder / "IMG_0008-edited.JPG", None, seed=18)
    out.append(Expected(f"Takeout/Google Photos/{album}/IMG_0008-edited.JPG", None,
                        datetime(2019, 7, 8, 10, tzinfo=UTC)))
    add("IMG_0009-bearbeitet.JPG", "IMG_0009.JPG.supplemental-metadata.json", 9, 9, title="IMG_0009.JPG")
    album_json(folder / "metadata.json", album)
    return out


if __name__ == "__main__":  # python -m tests.support.sidecar_samples tests/samples/sidecars
    target = Path(sys.argv[1])
    takeout_export(target)
    xmp(target / "xmp" / "IMG_1.JPG.xmp", DateTimeOriginal="2019:05:06 07:08:09", Title="Full-name XMP")
    samples.photo(target / "xmp" / "IMG_1.JPG", "2019:05:01 07:08:09", seed=21)
    xmp(target / "xmp" / "IMG_2.xmp", DateTimeOriginal="2019:05:07 07:08:09", Title="Stem-named XMP",
        Subject=["beach", "sun"], Rating=4)
    samples.photo(target / "xmp" / "IMG_2.JPG", None, seed=22)
