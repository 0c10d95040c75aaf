"""Hostile images made in the test: real small files whose headers claim enormous dimensions.

Each generator writes a real, small file (Pillow) and patches its header — JPEG SOF, PNG IHDR (CRC
recomputed), GIF logical screen, WebP VP8X canvas, TIFF tags, BMP header, HEIF ``ispe`` — so the
decoders believe in gigapixels. ``zip_bomb_png`` is a valid image whose zlib stream inflates to
hundreds of megabytes from a few hundred kilobytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _noise(w: int, h: int, seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def jpeg_with_size(path: Path, width: int, height: int, *, progressive: bool, eoi: bool = True,
                   source: tuple[int, int] = (640, 480)) -> Path:
    """A real JPEG (``source`` px of noise, so ~100–250 KB) whose SOF claims ``width``×``height``."""
    buf = io.BytesIO()
    _noise(*source).save(buf, "JPEG", quality=90, progressive=progressive)
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, height, width)
    if not eoi:
        assert data[-2:] == b"\xff\xd9"
        del data[-2:]
    path.write_bytes(bytes(data))
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A small real PNG whose IHDR (CRC fixed) claims ``width``×``height``."""
    buf = io.BytesIO()
    _noise(64, 48).save(buf, "PNG")
    data = buf.getvalue()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    end = data.index(b"IHDR") + 4 + 13 + 4
    path.write_bytes(data[:8] + _chunk(b"IHDR", ihdr) + data[end:])
    return path


def zip_bomb_png(path: Path, side: int = 12000) -> Path:
    """A valid all-black greyscale PNG of ``side``² pixels: a few hundred KB inflating to side² bytes."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [comp.compress(row * 256) for _ in range(side // 256)]
    parts.append(comp.compress(row * (side % 256)))
    parts.append(comp.flush())
    body = b"".join(parts)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return path


def text_bomb_png(path: Path) -> Path:
    """A small real PNG carrying a zTXt chunk that inflates to 64 MB."""
    buf = io.BytesIO()
    _noise(64, 48).save(buf, "PNG")
    data = buf.getvalue()
    comp = zlib.compressobj(9)
    text = b"".join(comp.compress(b"\x00" * (1 << 20)) for _ in range(64)) + comp.flush()
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + text)
    path.write_bytes(data[:33] + ztxt + data[33:])
    return path


def gif_with_frames(path: Path, width: int, height: int, frames: int) -> Path:
    """A GIF of ``frames`` tiny frames on a ``width``×``height`` logical screen."""
    rng = np.random.default_rng(frames)
    imgs = [Image.fromarray(rng.integers(0, 200, (8, 8), dtype=np.uint8), "L").convert("P") for _ in range(frames)]
    buf = io.BytesIO()
    imgs[0].save(buf, "GIF", save_all=True, append_images=imgs[1:], duration=10)
    data = bytearray(buf.getvalue())
    struct.pack_into("<HH", data, 6, width, height)
    path.write_bytes(bytes(data))
    return path


def webp_with_canvas(path: Path, width: int, height: int) -> Path:
    """A real two-frame WebP whose VP8X canvas claims ``width``×``height`` (frames stay small)."""
    frames = [_noise(64, 48, 1), _noise(64, 48, 2)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"VP8X"
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    path.write_bytes(bytes(data))
    return path


def tiff_with_size(path: Path, width: int, height: int) -> Path:
    """An uncompressed greyscale TIFF whose tags claim ``width``×``height`` over 4 KB of strip data."""
    strip = bytes(range(256)) * 16
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 8 + 4), (278, 4, 1, height), (279, 4, 1, len(strip))]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value) if typ == 4 else \
            struct.pack("<HHIHH", tag, typ, count, value, 0)
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + strip)
    return path


def bmp_with_size(path: Path, width: int, height: int) -> Path:
    buf = io.BytesIO()
    _noise(64, 48).save(buf, "BMP")
    data = bytearray(buf.getvalue())
    struct.pack_into("<ii", data, 18, width, height)
    path.write_bytes(bytes(data))
    return path


def heic_with_size(path: Path, width: int, height: int) -> Path:
    """A real small HEIC whose ``ispe`` property claims ``width``×``height``."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    _noise(64, 48).save(buf, "HEIF")
    data = bytearray(buf.getvalue())
    at = data.find(b"ispe")
    while at > 0:
        struct.pack_into(">II", data, at + 8, width, height)
        at = data.find(b"ispe", at + 4)
    path.write_bytes(bytes(data))
    return path


def huge_baseline_jpeg(path: Path, width: int, height: int) -> Path:
    """A valid greyscale baseline JPEG panorama (a gradient), made without holding it in RGB."""
    row = np.linspace(0, 255, width, dtype=np.float32)
    arr = (row[None, :] * 0.5 + np.linspace(0, 127, height, dtype=np.float32)[:, None]).astype(np.uint8)
    Image.fromarray(arr, "L").save(path, "JPEG", quality=70)
    return path
