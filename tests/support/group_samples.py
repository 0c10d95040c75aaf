"""Real sample groups: Live Photos (with and without Apple's ContentIdentifier), ``_HEVC.MOV``,
RAW+JPEG, Apple edits, bursts, and an unrelated same-name pair taken days apart.

Stills carry a real Apple maker note (``Apple iOS`` header, big-endian IFD) with the
ContentIdentifier (tag 0x11, ``MediaGroupUUID`` in older ExifTool) and BurstUUID (0x0b); ExifTool
reads them as ``MakerNotes:…``. Videos are real H.264 MOVs from ffmpeg with the QuickTime
``com.apple.quicktime.content.identifier`` and ``creationdate`` keys an iPhone writes. The RAW
is a tiny DNG (a TIFF with DNGVersion) that ExifTool reports as ``DNG``.

``python -m tests.support.group_samples DIR`` writes the whole set (the files in
``tests/samples/groups/`` were made so).
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

from PIL import Image, TiffImagePlugin

from tests.support import samples


def apple_makernote(tags: dict[int, str]) -> bytes:
    """An Apple maker note: ``Apple iOS\\0``, version 1, ``MM``, an IFD of ASCII entries (offsets
    from the start of the maker note)."""
    n = len(tags)
    base = 14 + 2 + 12 * n + 4
    entries, data = b"", b""
    for tid, val in sorted(tags.items()):
        v = val.encode() + b"\0"
        if len(v) <= 4:
            entries += struct.pack(">HHI", tid, 2, len(v)) + v.ljust(4, b"\0")
        else:
            entries += struct.pack(">HHII", tid, 2, len(v), base + len(data))
            data += v + (b"\0" if len(v) % 2 else b"")
    return b"Apple iOS\0" + b"\x00\x01" + b"MM" + struct.pack(">H", n) + entries + b"\0\0\0\0" + data


def apple_still(path: Path, when: str, *, offset: str = "+01:00", content_id: str | None = None,
                burst_id: str | None = None, subsec: str | None = None, model: str = "iPhone 12",
                seed: int = 0, size: tuple[int, int] = (48, 36)) -> Path:
    """An iPhone-like JPEG or HEIC (by suffix) with DateTimeOriginal, offset and maker note."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "Apple", model
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = sub[0x9004] = when
    sub[0x9011] = sub[0x9012] = offset
    if subsec:
        sub[0x9291] = subsec
    notes = {k: v for k, v in ((0x11, content_id), (0x0B, burst_id)) if v}
    if notes:
        sub[0x927C] = apple_makernote(notes)
    im = Image.fromarray(samples._pixels(size[0], size[1], seed))
    if path.suffix.lower() in (".heic", ".heif"):
        import pillow_heif

        pillow_heif.register_heif_opener()
        im.save(path, "HEIF", exif=ex.tobytes(), quality=60)
    else:
        im.save(path, "JPEG", exif=ex.tobytes(), quality=80)
    return path


def live_video(path: Path, when_local: str, *, offset: str = "+01:00", content_id: str | None = None,
               seed: int = 0) -> Path:
    """A short H.264 MOV as an iPhone writes it: QuickTime CreateDate (UTC), the Apple
    ``creationdate`` key (local with offset) and, optionally, the content identifier key."""
    from datetime import datetime, timedelta

    path.parent.mkdir(parents=True, exist_ok=True)
    local = datetime.strptime(when_local, "%Y:%m:%d %H:%M:%S")
    sign = -1 if offset.startswith("-") else 1
    hh, mm = offset[1:].split(":")
    utc = local - sign * timedelta(hours=int(hh), minutes=int(mm))
    meta = ["-metadata", f"creation_time={utc:%Y-%m-%dT%H:%M:%S}Z",
            "-metadata", f"com.apple.quicktime.creationdate={local:%Y-%m-%dT%H:%M:%S}{offset.replace(':', '')}",
            "-metadata", "com.apple.quicktime.make=Apple", "-metadata", "com.apple.quicktime.model=iPhone 12"]
    if content_id:
        meta += ["-metadata", f"com.apple.quicktime.content.identifier={content_id}"]
    colour = ["red", "green", "blue", "yellow", "white", "cyan"][seed % 6]
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"color=c={colour}:s=32x32:d=0.4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-fflags", "+bitexact", "-movflags", "use_metadata_tags", *meta, "-f", "mov",
                    f"file:{path}"], check=True)
    return path


def dng(path: Path, when: str, *, make: str = "Canon", model: str = "Canon EOS R5", subsec: str | None = None,
        seed: int = 0) -> Path:
    """A tiny DNG (TIFF + DNGVersion 1.4) with camera and capture time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[271], info[272] = make, model
    info[50706] = b"\x01\x04\x00\x00"
    info.tagtype[50706] = 1
    out = io.BytesIO()
    Image.fromarray(samples._pixels(16, 12, seed)).save(out, "TIFF", tiffinfo=info)
    path.write_bytes(out.getvalue())
    args = [f"-DateTimeOriginal={when}", f"-CreateDate={when}"]
    if subsec:
        args.append(f"-SubSecTimeOriginal={subsec}")
    return samples.exif(path, *args)


def camera_jpeg(path: Path, when: str, *, make: str = "Canon", model: str = "Canon EOS R5",
                subsec: str | None = None, seed: int = 0) -> Path:
    samples.image(path, "JPEG", size=(48, 36), seed=seed, quality=80)
    args = [f"-Make={make}", f"-Model={model}", f"-DateTimeOriginal={when}", f"-CreateDate={when}"]
    if subsec:
        args.append(f"-SubSecTimeOriginal={subsec}")
    return samples.exif(path, *args)


#: The sample set: folder/name -> what it is (the README of tests/samples/groups lists the same).
SET = {
    "live_with_id/IMG_0001.HEIC": "Live Photo still, ContentIdentifier 1A2B…",
    "live_with_id/IMG_0001.MOV": "its video, same ContentIdentifier, 1 s later",
    "live_no_id/IMG_0002.JPG": "Live Photo still without identifier",
    "live_no_id/IMG_0002.MOV": "its video, same name, 0.5 s later",
    "hevc/IMG_0003.HEIC": "Live Photo still",
    "hevc/IMG_0003_HEVC.MOV": "its video named _HEVC",
    "days_apart/IMG_0004.JPG": "a photo of 2024-01-31",
    "days_apart/IMG_0004.MOV": "an unrelated video of 2024-02-05 with the same name: never paired",
    "raw_jpeg/IMG_0005.JPG": "JPEG of a RAW+JPEG pair",
    "raw_jpeg/IMG_0005.DNG": "its DNG, same camera, 0.2 s apart",
    "edit/IMG_0006.JPG": "an original",
    "edit/IMG_E0006.JPG": "its Apple edit",
    "burst/IMG_0007.JPG": "burst frame 1 (BurstUUID)",
    "burst/IMG_0008.JPG": "burst frame 2",
    "burst/IMG_0009.JPG": "burst frame 3",
}

CONTENT_ID = "1A2B3C4D-0000-4000-8000-00000000C1D1"
BURST_ID = "B0B0B0B0-0000-4000-8000-00000000B057"


def make_set(root: Path) -> dict[str, Path]:
    """Write :data:`SET` under ``root``; returns {relative name: path}."""
    t = "2024:01:31 23:59:5"
    out = {
        "live_with_id/IMG_0001.HEIC": apple_still(root / "live_with_id/IMG_0001.HEIC", t + "0", content_id=CONTENT_ID,
                                                  seed=1),
        "live_with_id/IMG_0001.MOV": live_video(root / "live_with_id/IMG_0001.MOV", t + "1", content_id=CONTENT_ID,
                                                seed=1),
        "live_no_id/IMG_0002.JPG": apple_still(root / "live_no_id/IMG_0002.JPG", t + "2", seed=2),
        "live_no_id/IMG_0002.MOV": live_video(root / "live_no_id/IMG_0002.MOV", t + "2", seed=2),
        "hevc/IMG_0003.HEIC": apple_still(root / "hevc/IMG_0003.HEIC", t + "3", seed=3),
        "hevc/IMG_0003_HEVC.MOV": live_video(root / "hevc/IMG_0003_HEVC.MOV", t + "3", seed=3),
        "days_apart/IMG_0004.JPG": apple_still(root / "days_apart/IMG_0004.JPG", t + "4", seed=4),
        "days_apart/IMG_0004.MOV": live_video(root / "days_apart/IMG_0004.MOV", "2024:02:05 10:00:00", seed=4),
        "raw_jpeg/IMG_0005.JPG": camera_jpeg(root / "raw_jpeg/IMG_0005.JPG", t + "5", subsec="10", seed=5),
        "raw_jpeg/IMG_0005.DNG": dng(root / "raw_jpeg/IMG_0005.DNG", t + "5", subsec="30", seed=5),
        "edit/IMG_0006.JPG": apple_still(root / "edit/IMG_0006.JPG", t + "6", seed=6),
        "edit/IMG_E0006.JPG": apple_still(root / "edit/IMG_E0006.JPG", t + "6", seed=60),
    }
    for i, name in enumerate(("IMG_0007.JPG", "IMG_0008.JPG", "IMG_0009.JPG")):
        out[f"burst/{name}"] = apple_still(root / "burst" / name, t + "7", burst_id=BURST_ID,
                                           subsec=f"{i * 2}00", seed=70 + i)
    return out


if __name__ == "__main__":  # pragma: no cover
    for rel, p in make_set(Path(sys.argv[1])).items():
        print(f"{p.stat().st_size:>7}  {rel}")
