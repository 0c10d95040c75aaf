"""Decode an image once, at the smallest scale that still covers the largest size, and derive
every size from that decode: oriented, converted to sRGB, flattened to RGB, encoded.

JPEG uses DCT shrink-on-load (``Image.draft``): a 24 MP photo decodes at 1/2 or 1/4 scale. Every
smaller size is resized from the next larger one, never from the original.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from photo_factory import decoding
from photo_factory.worker import ItemError

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()
# The worker enforces its own limits (decompression_bomb) from a decode plan, before decoding.
Image.MAX_IMAGE_PIXELS = None
#: Pillow allocates images in blocks; freed ones are kept for the next item instead of unmapped,
#: while the worker is busy (given back when the queue runs dry: :func:`release_all`). Small,
#: uniform blocks are reused as they are: with Pillow's default 16 MB blocks, each sized to its
#: image, a kept block was resized for the next image and its pages faulted in again. Without
#: them every 12 MP photo faulted in its 2000x1500 decode and 1440 px image afresh (~7,000 faults,
#: ~20 % of its CPU); now ~900. The busy size is unchanged (every photo needs those buffers);
#: at most 32 blocks of BLOCK_MB = 32 MB (KEPT_MB) is kept. PILLOW_BLOCK_SIZE / PILLOW_BLOCKS_MAX
#: win; a block size alone keeps at most 32 blocks and KEPT_MB (PILLOW_BLOCK_SIZE=16M, or a value
#: Pillow refused, kept 32 of 16 MB: 86 MB over three full-size PNG decodes, 512 MB at most; and
#: 8,192 blocks of 4 KB, scattered over the heap, took 59 MB with its holes).
BLOCK_MB = 1
KEPT_MB = 32
if "PILLOW_BLOCK_SIZE" not in os.environ:
    Image.core.set_block_size(BLOCK_MB << 20)
BLOCKS_KEPT = min(32, (KEPT_MB << 20) // Image.core.get_block_size())  # the size in force, whoever set it
if "PILLOW_BLOCKS_MAX" in os.environ:  # already applied by Pillow (or refused with a warning)
    BLOCKS_KEPT = Image.core.get_blocks_max()
Image.core.set_blocks_max(BLOCKS_KEPT)
#: Default memory budget of one decode (PF_THUMBNAIL_DECODE_MEGABYTES).
DECODE_BUDGET = 1024 * decoding.MB

_RESIZABLE = ("RGB", "L", "CMYK", "RGBA", "LA")
#: Pillow's reducing gap for every shrink (a shrink by 2 x this or more is reduced first).
_GAP = 2.0
#: A resize into fewer rows than this is done in one piece (a 256 px thumbnail: ~4 ms).
SPLIT_MIN_ROWS = 256
#: PF_THUMBNAIL_THREADS, set by configure_threads (1: no pool)
_threads = 1
_pool: ThreadPoolExecutor | None = None
_SRGB = ImageCms.createProfile("sRGB")
_TRANSPOSE = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
              4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
              6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE],
              8: [Image.Transpose.ROTATE_90]}


@dataclass(frozen=True)
class Encoding:
    format: str = "jpeg"  # jpeg | webp
    quality: int = 82


def open_image(source: str | io.BytesIO, max_pixels: int, longest: int | None = None,
               budget_bytes: int = DECODE_BUDGET) -> Image.Image:
    """Open (not decode) an image, refusing unknown formats and decompression bombs: what would
    be decoded (``longest`` px on the long edge: JPEG shrinks on load) is planned from the header
    and refused when over ``max_pixels`` decoded pixels or ``budget_bytes`` of memory."""
    opening = decoding.open_cost(source)
    if opening is not None and opening.over(budget_bytes):
        raise ItemError("decompression_bomb", f"{opening.over(budget_bytes)} (PF_THUMBNAIL_DECODE_MEGABYTES)")
    try:
        img = Image.open(source)
    except UnidentifiedImageError as exc:
        raise ItemError("unsupported_format", f"not a readable image: {exc}") from None
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
        raise ItemError("corrupt_file", f"cannot read the image header: {exc}") from None
    plan = decoding.plan(img, source, longest)
    if plan.pixels > max_pixels:
        img.close()
        raise ItemError("decompression_bomb", f"{plan.width}x{plan.height} ({plan.why}) decodes {plan.pixels} "
                                              f"pixels, over the limit of {max_pixels} (PF_THUMBNAIL_MAX_PIXELS)")
    over = plan.over(budget_bytes)
    if over:
        img.close()
        raise ItemError("decompression_bomb", f"{over} (PF_THUMBNAIL_DECODE_MEGABYTES)")
    return img


def decode(img: Image.Image, longest: int) -> Image.Image:
    """Load the first frame, shrinking on load so the result still covers ``longest`` px."""
    if img.format == "JPEG":
        scale = min(1.0, longest / max(img.width, img.height))
        img.draft(None, (math.ceil(img.width * scale), math.ceil(img.height * scale)))
    try:
        img.seek(0)
        if img.format == "HEIF":
            reduced = _heif_reduced(img, longest)
            if reduced is not None:
                return reduced
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        # RuntimeError: libheif (pillow-heif), e.g. a tile missing or its own security limit
        text = str(exc)
        reason = "truncated_file" if "truncated" in text or isinstance(exc, EOFError) else "corrupt_file"
        if isinstance(exc, RuntimeError) and "security limit" in text.lower():
            reason = "decompression_bomb"
        raise ItemError(reason, f"cannot decode the image: {text or type(exc).__name__}") from None
    return img


#: Rows of libheif's buffer turned into a Pillow image at a time (then reduced): a strip of a
#: 12 MP image is ~4 MB where the whole image in Pillow's 4-byte RGB was 48 MB.
_HEIF_STRIP_ROWS = 256


def _heif_reduced(img: Image.Image, longest: int) -> Image.Image | None:
    """Decode a HEIF/AVIF frame and shrink it as it is copied out of libheif's buffer.

    libheif decodes at full size only (HEVC has no scaled decode like JPEG's DCT shrink), and
    pillow-heif's own load copies the whole decoded frame into Pillow (12 MP: 36 MB of RGB from
    libheif plus 48 MB in Pillow, both alive at once; 48 MP: 340 MB). Here the buffer is read in
    strips, each box-reduced by the largest integer factor that still covers ``longest`` (as the
    JPEG path's DCT scaling does), so only the reduced image is ever whole in Pillow; the buffer is
    dropped with the opened file. None: a mode this path does not handle (the plugin loads it)."""
    heif = getattr(img, "_heif_file", None)  # pillow-heif's opened container (its plugin's attribute)
    if heif is None:
        return None
    frame = heif[img.tell()]
    data = frame.data  # the decode
    mode, (w, h), stride = frame.mode, frame.size, frame.stride
    if mode not in ("RGB", "RGBA", "L"):
        return None
    factor = max(1, max(w, h) // max(longest, 1))
    out = Image.new(mode, (math.ceil(w / factor), math.ceil(h / factor)))
    rows = factor * max(1, _HEIF_STRIP_ROWS // factor)
    for y in range(0, h, rows):
        n = min(rows, h - y)
        strip = Image.frombuffer(mode, (w, n), data[y * stride:(y + n) * stride], "raw", mode, stride, 1)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, y // factor))
    out.info = dict(img.info)
    out.format = img.format
    del data
    img.close()
    return out


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim): nothing to give back
        return None


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Give the freed decode buffers back to the system after an item, but for the few image
    blocks Pillow keeps for the next one (:data:`BLOCKS_KEPT`). glibc keeps freed heap memory for
    reuse: after one 12 MP HEIC a worker stayed ~35 MB above its idle size until it exited
    (libheif's frame buffers, spread over the decoder threads' arenas)."""
    if _TRIM is not None:
        _TRIM(0)


def release_all() -> None:
    """The worker is idle: give back Pillow's kept blocks too (then keep them again when busy)."""
    Image.core.set_blocks_max(0)  # frees the cached blocks
    Image.core.set_blocks_max(BLOCKS_KEPT)
    release_memory()


def orientation(img: Image.Image) -> int:
    """The EXIF orientation (1–8) of an opened image; 1 when absent or bogus."""
    try:
        value = int(img.getexif().get(0x0112, 1))
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def to_rgb(img: Image.Image) -> Image.Image:
    """Flatten any mode (16-bit, palette, alpha, CMYK, …) to 8-bit RGB in sRGB."""
    icc = img.info.get("icc_profile")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np  # only here: keeps a worker's resident memory small

        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8))
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        base = Image.new("RGB", img.size, (255, 255, 255))
        base.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = base
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if img.mode not in ("RGB", "CMYK", "L"):
                img = img.convert("RGB")
            converted = ImageCms.profileToProfile(img, src, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.debug("ignoring an unusable ICC profile: %s", exc)
    return img.convert("RGB") if img.mode != "RGB" else img


def shrink(img: Image.Image, longest: int) -> Image.Image:
    """Resize so the long edge is at most ``longest`` (never upscales).

    Hamming, not bicubic: the same antialiased downscale (a windowed sinc of support 1, sharper
    than bilinear) at two thirds of bicubic's cost; the resize from the DCT-scaled decode was a
    third of the whole thumbnail path (2000→1440 px: 61 ms bicubic, 39 ms Hamming)."""
    w, h = img.size
    if max(w, h) <= longest:
        return img
    scale = longest / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # in strips only where Pillow's reducing gap does nothing (a shrink by less than 2 x 2.0:
    # the DCT-scaled decode of a camera JPEG); a bigger one is reduced first, then resampled
    if (_threads > 1 and size[1] >= SPLIT_MIN_ROWS and img.mode in _RESIZABLE
            and int(w / size[0] / _GAP) <= 1 and int(h / size[1] / _GAP) <= 1):  # Pillow's own test
        return _resize_in_strips(img, size)
    return img.resize(size, Image.Resampling.HAMMING, reducing_gap=_GAP)



def configure_threads(n: int) -> None:
    """Split each large resize into ``n`` horizontal strips done at once (``PF_THUMBNAIL_THREADS``)."""
    global _threads, _pool
    _threads = max(1, n)
    if _pool is not None:
        _pool.shutdown(wait=False)
    _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="resize") if _threads > 1 else None


def _resize_in_strips(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The same resize as one call, done as ``_threads`` strips of output rows at once (Pillow
    releases the GIL while it resamples). Each strip is the resize of its band of the source
    (``box``): its filter still reads the rows beyond the band's edges, as the whole resize does,
    so there is no seam; no pixel is more than one level from the one resize's (Pillow rounds its
    intermediate pass; tests/unit/thumbnails/test_resize_strips.py). A 12 MP
    photo's 2000 -> 1440 px resize, a quarter of its thumbnail CPU: 23 -> 13 ms of wall time."""
    assert _pool is not None
    w, h = img.size
    ow, oh = size
    rows = [round(oh * i / _threads) for i in range(_threads + 1)]

    def strip(i: int) -> Image.Image:
        return img.resize((ow, rows[i + 1] - rows[i]), Image.Resampling.HAMMING,
                          box=(0, rows[i] * h / oh, w, rows[i + 1] * h / oh))

    others = [_pool.submit(strip, i) for i in range(1, _threads)]
    out = Image.new(img.mode, size)
    out.paste(strip(0), (0, 0))
    for i, future in enumerate(others, 1):
        out.paste(future.result(), (0, rows[i]))
    return out


def derive(img: Image.Image, sizes: tuple[int, ...], orient: int = 1) -> dict[int, Image.Image]:
    """Every size (largest first), each from the next larger one, oriented and in sRGB RGB."""
    # shrink first (colour conversion on fewer pixels), except palette and 16-bit images, which
    # resize badly or not at all: convert those first
    resizable = img.mode in _RESIZABLE
    current = to_rgb(shrink(img, sizes[0])) if resizable else shrink(to_rgb(img), sizes[0])
    for op in _TRANSPOSE.get(orient, []):
        current = current.transpose(op)
    # already oriented and in sRGB: never carry the original's orientation tag or profile along
    current.info = {}
    out: dict[int, Image.Image] = {}
    for size in sorted(sizes, reverse=True):
        current = shrink(current, size)
        out[size] = current
    return out


def encode(img: Image.Image, enc: Encoding) -> bytes:
    buf = io.BytesIO()
    if enc.format == "webp":
        img.save(buf, "WEBP", quality=enc.quality, method=0)
    else:
        img.save(buf, "JPEG", quality=enc.quality)
    return buf.getvalue()


def render(source: str | io.BytesIO, sizes: tuple[int, ...], max_pixels: int,
           orient: int | None = None, budget_bytes: int = DECODE_BUDGET) -> dict[int, Image.Image]:
    """Open, decode once and derive ``sizes`` from an image file (or bytes); ``orient`` overrides EXIF."""
    img = open_image(source, max_pixels, max(sizes), budget_bytes)
    exif_orient = orientation(img)
    img = decode(img, max(sizes))
    return derive(img, sizes, orient or exif_orient)

