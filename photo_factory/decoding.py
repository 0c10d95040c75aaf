"""What decoding an image will cost, decided from its header before a single pixel is decoded.

Pillow's pixel count alone does not bound memory: a progressive (or multi-scan) JPEG keeps a
coefficient buffer for the whole image whatever the shrink-on-load scale (2 bytes per DCT
coefficient, ~3–6 bytes per pixel: a 65000×65000 header asks for ~23 GB), while a baseline JPEG
decoded at 1/8 scale streams through a few rows. Every other format is decoded whole. A
:class:`Plan` says at which scale an image would be decoded, how many pixels that makes and how
many bytes it will take; callers refuse a plan over their budget (the librarian's check, the
thumbnailer).
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

#: Estimated bytes per decoded pixel (Pillow stores RGB as 4 bytes; WebP and HEIF decode into a
#: buffer of their own and then copy; TIFF reads whole strips or tiles).
_BYTES_PER_PIXEL = {"WEBP": 8, "HEIF": 12, "HEIC": 12, "AVIF": 12, "TIFF": 8, "GIF": 5, "JPEG": 10, "MPO": 10}
_ONE_BYTE_MODES = ("1", "L", "P")
#: SOF markers: progressive (whole-image coefficient buffers) and lossless (no shrink-on-load).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_LOSSLESS = {0xC3, 0xC7, 0xCB, 0xCF}
_HEADER_LIMIT = 4 << 20  # bytes of JPEG header read at most to find the first scan
MB = 1 << 20


@dataclass(frozen=True)
class JpegLayout:
    width: int
    height: int
    sof: int
    #: (horizontal, vertical) sampling factor of each component.
    sampling: tuple[tuple[int, int], ...]
    #: components in the first scan (fewer than all: a multi-scan sequential JPEG).
    first_scan: int

    @property
    def buffered(self) -> bool:
        """libjpeg keeps every coefficient of the image in memory (progressive or multi-scan)."""
        return self.sof in _PROGRESSIVE or self.first_scan < len(self.sampling)

    def coefficient_bytes(self) -> int:
        if not self.buffered:
            return 0
        hmax = max(h for h, _ in self.sampling)
        vmax = max(v for _, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            bw = math.ceil(math.ceil(self.width * h / hmax) / 8)
            bh = math.ceil(math.ceil(self.height * v / vmax) / 8)
            total += (math.ceil(bw / h) * h) * (math.ceil(bh / v) * v) * 64 * 2
        return total


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    #: shrink-on-load denominator (JPEG only: 1, 2, 4 or 8)
    scale: int
    #: estimated peak bytes of the decode
    bytes: int
    why: str

    @property
    def pixels(self) -> int:
        """Pixels actually decoded (after shrink-on-load)."""
        return math.ceil(self.width / self.scale) * math.ceil(self.height / self.scale)

    def over(self, budget_bytes: int) -> str | None:
        """None within ``budget_bytes``, else why not (for a log line or a failure reason)."""
        if self.bytes <= budget_bytes:
            return None
        return (f"{self.width}x{self.height} {self.why} would need ~{self.bytes // MB} MB to decode "
                f"(limit {budget_bytes // MB} MB)")


def jpeg_layout(source: str | Path | BinaryIO) -> JpegLayout | None:
    """The frame header and first scan of a JPEG, read marker by marker (None if not found)."""
    f: BinaryIO
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            return _jpeg_layout(f)
    pos = source.tell()
    try:
        source.seek(0)
        return _jpeg_layout(source)
    finally:
        source.seek(pos)


def _jpeg_layout(f: BinaryIO) -> JpegLayout | None:
    if f.read(2) != b"\xff\xd8":
        return None
    frame: tuple[int, int, int, tuple[tuple[int, int], ...]] | None = None
    while f.tell() < _HEADER_LIMIT:
        b = f.read(1)
        if not b:
            return None
        if b != b"\xff":
            continue
        marker = f.read(1)
        while marker == b"\xff":
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if m == 0x00 or 0xD0 <= m <= 0xD8 or m == 0x01:
            continue
        raw = f.read(2)
        if len(raw) < 2:
            return None
        length = struct.unpack(">H", raw)[0] - 2
        body = f.read(length) if m in _SOF or m == 0xDA else None
        if body is None:
            f.seek(length, io.SEEK_CUR)
            continue
        if m in _SOF and len(body) >= 6:
            height, width, n = struct.unpack(">HHB", body[1:6])
            comps = tuple((body[7 + 3 * i] >> 4 or 1, body[7 + 3 * i] & 15 or 1)
                          for i in range(n) if 8 + 3 * i < len(body))
            frame = (width, height, m, comps or ((1, 1),))
        elif m == 0xDA and frame is not None and body:
            width, height, sof, comps = frame
            return JpegLayout(width, height, sof, comps, body[0])
    return None


def webp_size(source: str | Path | BinaryIO) -> tuple[int, int] | None:
    """A WebP's canvas size from its first chunk. Needed *before* ``Image.open``: Pillow's WebP
    opener creates libwebp's animation decoder, which allocates two canvas-sized RGBA buffers."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            head = f.read(30)
    else:
        pos = source.tell()
        source.seek(0)
        head = source.read(30)
        source.seek(pos)
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk, data = head[12:16], head[20:30]
    if chunk == b"VP8X":
        return int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1
    if chunk == b"VP8L":
        bits = int.from_bytes(data[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        return (int.from_bytes(data[6:8], "little") & 0x3FFF,
                int.from_bytes(data[8:10], "little") & 0x3FFF)
    return None


def open_cost(source: str | Path | BinaryIO) -> Plan | None:
    """The cost of merely *opening* ``source`` with Pillow, when opening already allocates pixel
    buffers (WebP); None for formats whose opener reads the header only."""
    size = webp_size(source)
    if size is None:
        return None
    w, h = size
    return Plan(w, h, 1, w * h * _BYTES_PER_PIXEL["WEBP"], "WebP (opening allocates the canvas)")


def plan(img: Image.Image, source: str | Path | BinaryIO, longest: int | None = None) -> Plan:
    """How ``img`` (opened, not loaded) would be decoded: for a JPEG, at the largest shrink-on-load
    scale that still covers ``longest`` pixels (None: the smallest, 1/8), else whole."""
    w, h = img.size
    fmt = (img.format or "").upper()
    if fmt in ("JPEG", "MPO"):
        layout = jpeg_layout(source)
        if layout is not None:
            return _jpeg_plan(layout, img.mode, longest)
    per_pixel = 1 if img.mode in _ONE_BYTE_MODES and fmt in ("PNG", "GIF", "BMP", "TIFF") else 4
    per_pixel = max(per_pixel, _BYTES_PER_PIXEL.get(fmt, per_pixel))
    return Plan(w, h, 1, w * h * per_pixel + w * 64, f"{fmt or 'image'} decoded whole")


def _jpeg_plan(layout: JpegLayout, mode: str, longest: int | None) -> Plan:
    w, h = layout.width, layout.height
    scale = 1
    if layout.sof not in _LOSSLESS:
        if longest is None:
            scale = 8
        else:
            k = min(1.0, longest / max(w, h, 1))
            want = (max(1, math.ceil(w * k)), max(1, math.ceil(h * k)))
            ratio = min(w // want[0], h // want[1])
            scale = next(s for s in (8, 4, 2, 1) if ratio >= s)
    out = math.ceil(w / scale) * math.ceil(h / scale) * (1 if mode == "L" else 4)
    rows = w * 16 * max(1, len(layout.sampling)) * 2  # libjpeg's row buffers at full width
    coef = layout.coefficient_bytes()
    kind = "progressive JPEG" if layout.sof in _PROGRESSIVE else (
        "multi-scan JPEG" if layout.buffered else "baseline JPEG")
    return Plan(w, h, scale, out + rows + coef, f"{kind} at 1/{scale} scale")
