"""Metadata that makes viewers recognise a stitched panorama, written with ExifTool.

* Google's Photo Sphere XMP (``GPano``): ``UsePanoramaViewer``, ``ProjectionType``, the cropped
  image size and where it lies in the full sphere. Immich, PhotoPrism, Google Photos and phone
  galleries open such a file in their panorama viewer. Written only when the projection is known
  (the rotating-camera model is equirectangular); a flat "scans" result gets none.
* The EXIF that matters from the first shot: camera make and model, lens, capture date and time
  zone, GPS; ``Orientation`` is 1 since the pixels are stored upright.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

from processor.stitch.panorama import Stitched

log = logging.getLogger(__name__)

SOFTWARE = "Photo Factory (OpenCV Stitcher)"
_COPIED = ("-Make", "-Model", "-LensMake", "-LensModel", "-DateTimeOriginal", "-CreateDate",
           "-SubSecTimeOriginal", "-OffsetTimeOriginal", "-OffsetTime", "-GPS:all")


def gpano_arguments(result: Stitched, sources: int) -> list[str]:
    """ExifTool assignments of the Photo Sphere XMP for ``result`` (none without a projection)."""
    if result.projection is None or result.full_width is None or result.full_height is None:
        return []
    height, width = result.image.shape[:2]
    values = {
        "UsePanoramaViewer": "True",
        "ProjectionType": result.projection,
        "CroppedAreaImageWidthPixels": width,
        "CroppedAreaImageHeightPixels": height,
        "FullPanoWidthPixels": max(result.full_width, width),
        "FullPanoHeightPixels": max(result.full_height, height),
        "CroppedAreaLeftPixels": result.left or 0,
        "CroppedAreaTopPixels": result.top or 0,
        "SourcePhotosCount": sources,
        "StitchingSoftware": SOFTWARE,
    }
    return [f"-XMP-GPano:{k}={v}" for k, v in values.items()]


def tag(jpeg: bytes, result: Stitched, first_source: Path, sources: int, *, exiftool: str = "exiftool",
        timeout_s: float = 120.0) -> bytes:
    """``jpeg`` with the Photo Sphere XMP and the first shot's EXIF, as new bytes.

    Raises ``OSError`` or ``subprocess.SubprocessError`` when ExifTool cannot run or fails.
    The source is only read.
    """
    with tempfile.TemporaryDirectory(prefix="pf-stitch-") as tmp:
        out = Path(tmp) / "pano.jpg"
        out.write_bytes(jpeg)
        args = [exiftool, "-q", "-q", "-m", "-overwrite_original", "-charset", "filename=utf8"]
        if first_source.is_file():
            args += ["-TagsFromFile", str(first_source), *_COPIED]
        args += ["-Orientation#=1", f"-Software={SOFTWARE}", *gpano_arguments(result, sources), str(out)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            raise subprocess.SubprocessError(f"exiftool exited {proc.returncode}: {proc.stderr.strip()[:500]}")
        return out.read_bytes()
