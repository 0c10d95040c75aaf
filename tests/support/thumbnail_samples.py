"""Sample files for the thumbnail tests (generated, small, real) and a media_assets row factory.

Images carry an orientation marker: the *upright* picture is landscape with a red top-left
quadrant on blue; :func:`upright_marker_ok` checks a rendered thumbnail shows it that way.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import subprocess
from datetime import datetime
from pathlib import Path

import psycopg2
import psycopg2.extras

_seq = itertools.count(1)


def insert_asset(database_url: str, storage: Path, rel: str | None = None, *, data: bytes | None = None,
                 media_type: str = "image", **columns: object) -> int:
    """Insert a media_assets row for ``storage/<rel>`` (written from ``data`` if given); return its id.

    ``rel`` defaults to a unique ``Library/2024/2024-05-01/IMG_<n>.JPG``. Extra ``columns`` override
    the row (e.g. ``orientation=6``, ``location=...``).
    """
    n = next(_seq)
    rel = rel or f"Library/2024/2024-05-01/IMG_{n:05d}.JPG"
    path = storage / rel
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    content = path.read_bytes() if path.exists() else f"{rel}:{n}".encode()
    row = {
        "sha256": hashlib.sha256(content + f":{n}".encode()).hexdigest(),
        "library_path": rel, "original_name": Path(rel).name, "size_bytes": max(len(content), 1),
        "media_type": media_type, "captured_local": datetime(2024, 5, 1, 12, 0),
        "capture_date": datetime(2024, 5, 1).date(), "date_source": "test", "tz_source": "test",
        **columns,
    }
    if "location" in row and row["location"] is not None:
        row["location"] = psycopg2.extras.Json(row["location"])
    cols = ", ".join(row)
    vals = ", ".join(f"%({k})s" for k in row)
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO media_assets ({cols}) VALUES ({vals}) RETURNING id", row)
            return cur.fetchone()[0]
    finally:
        conn.close()


def query(database_url: str, sql: str, params: object = None) -> list[tuple]:
    """Run one statement in its own transaction and return its rows (tests only)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


# -- images --------------------------------------------------------------------------------

RED, BLUE = (220, 30, 30), (30, 30, 220)
_INVERSE = {1: None, 2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
            6: "ROTATE_90", 7: "TRANSVERSE", 8: "ROTATE_270"}


def upright(w: int = 600, h: int = 400, mode: str = "RGB"):
    """The upright test picture: blue with a red top-left quadrant (plus mild noise-free texture)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), BLUE)
    ImageDraw.Draw(img).rectangle([0, 0, w // 2 - 1, h // 2 - 1], fill=RED)
    return img.convert(mode) if mode != "RGB" else img


def stored_for(orientation: int, img=None):
    """The pixels a camera stores so that applying EXIF ``orientation`` shows ``img`` upright."""
    from PIL import Image

    img = img or upright()
    op = _INVERSE[orientation]
    return img.transpose(getattr(Image.Transpose, op)) if op else img


def encode(img, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def jpeg(w: int = 600, h: int = 400, *, orientation: int = 1, **params: object) -> bytes:
    """A JPEG whose EXIF orientation (1–8) must be applied to see the upright picture."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored_for(orientation, upright(w, h)), "JPEG", exif=exif.tobytes(), quality=90, **params)


def cmyk_jpeg() -> bytes:
    return encode(upright().convert("CMYK"), "JPEG", quality=90)


def png16() -> bytes:
    """A 16-bit grayscale PNG (values up to 65535): bright left half, dark right half."""
    import numpy as np
    from PIL import Image

    arr = np.full((400, 600), 8000, dtype=np.uint16)
    arr[:, :300] = 60000
    return encode(Image.fromarray(arr), "PNG")


def palette_png() -> bytes:
    img = upright().convert("P", palette=1, colors=8)
    return encode(img, "PNG", transparency=0)


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encode(upright(), "HEIF", quality=80)


def gif() -> bytes:
    """Two frames: the upright picture first, then a green one (only the first may be used)."""
    from PIL import Image

    first, second = upright().convert("P"), Image.new("RGB", (600, 400), (0, 200, 0)).convert("P")
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100)


def tiff() -> bytes:
    return encode(upright(), "TIFF")


def webp() -> bytes:
    return encode(upright(), "WEBP", quality=90)


def raw_with_preview(path: Path) -> Path:
    """A RAW stand-in: a tiny green main image whose embedded EXIF preview is the upright picture.

    (No RAW encoder exists here; ExifTool reads the embedded preview the same way it reads a CR2's.)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    main = path.with_name(path.name + ".main.jpg")
    main.write_bytes(encode(_green(64, 48), "JPEG"))
    preview = path.with_name(path.name + ".preview.jpg")
    preview.write_bytes(encode(upright(160, 120), "JPEG", quality=85))
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-ThumbnailImage<={preview}", str(main)],
                   check=True)
    preview.unlink()
    main.rename(path)
    return path


def bomb_png() -> bytes:
    """A tiny PNG that claims 100000 x 100000 pixels (10 gigapixels)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))


def truncated_jpeg() -> bytes:
    data = jpeg(1200, 800)
    return data[: len(data) // 2]


def corrupt_file() -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20


def video(path: Path, *, black_seconds: float = 1.0, seconds: float = 3.0) -> Path:
    """An H.264 MP4: ``black_seconds`` of black, then a bright test pattern."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lavfi = (f"color=c=black:s=320x240:d={black_seconds}:r=25[a];"
             f"testsrc=s=320x240:d={seconds - black_seconds}:r=25[b];[a][b]concat=n=2:v=1:a=0")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-filter_complex", lavfi, "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def upright_marker_ok(img) -> bool:
    """True when ``img`` shows the upright picture: landscape, red top-left, blue bottom-right."""
    w, h = img.size
    rgb = img.convert("RGB")
    tl = rgb.getpixel((w // 8, h // 8))
    br = rgb.getpixel((w * 7 // 8, h * 7 // 8))
    return w > h and tl[0] > 150 and tl[2] < 100 and br[2] > 150 and br[0] < 100


def _green(w: int, h: int):
    from PIL import Image

    return Image.new("RGB", (w, h), (0, 200, 0))
