"""Is the whole file there? Container walks that tell a complete file from one still being written.

A writer that pauses longer than the quiet period leaves a file that looks stable but ends early.
Each supported container says, in its own structure, where it ends: a JPEG's EOI after its last
scan, PNG's IEND chunk, GIF's trailer, a RIFF (WebP, AVI) length, ISO-BMFF (MP4, MOV, 3GP, M4V,
HEIC, HEIF, AVIF, CR3) top-level box sizes that add up exactly to the file size with ``moov`` /
``meta`` present, every track's chunks and every HEIF item extent inside the file, an EBML (MKV,
WebM) segment size, ASF (WMV) object sizes, whole MPEG transport-stream packets (M2TS, MTS), TIFF
and TIFF-based RAW (DNG, CR2, NEF, ARW, ORF, RW2, PEF, …) IFDs, strips, tiles and previews inside the file.
Walks read headers only (seeks and small reads, never the whole file, never a memory map) so a
multi-gigabyte video costs a few hundred reads.

:func:`missing` answers ``None`` (complete, or a format nobody can tell) or a short detail of what is
missing. Only a walk that runs past the end of the file (or into a zero-filled, pre-allocated tail)
says "incomplete": a malformed structure is not truncation, and is left to the decodability check.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

#: Formats whose structure is walked here.
ISOBMFF_VIDEO = {"MP4", "MOV", "M4V", "3GP", "3G2"}
ISOBMFF_IMAGE = {"HEIC", "HEIF", "AVIF", "CR3"}
#: TIFF and the RAW formats built on its IFDs (image data at StripOffsets/TileOffsets).
TIFF_BASED = {"TIFF", "DNG", "CR2", "NEF", "NRW", "ARW", "SR2", "SRF", "ORF", "RW2", "PEF", "SRW", "ERF",
              "3FR", "IIQ", "RWL"}
WALKED = ({"JPEG", "PNG", "GIF", "WEBP", "AVI", "MKV", "WEBM", "WMV", "M2TS", "MTS"} | ISOBMFF_VIDEO
          | ISOBMFF_IMAGE | TIFF_BASED)

_BLOCK = 1 << 20
#: A JPEG marker after entropy-coded data: 0xFF then neither 0x00 (stuffing), nor a restart marker,
#: nor a fill byte (a run of fill bytes matches at its last 0xFF). No ``\xff+``: it is 20x slower.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: Pieces (JPEG images, an embedded video) followed after a JPEG's first EOI.
_MAX_PIECES = 16
_MAX_BOXES = 1_000_000
#: Zero bytes at the end of media data that mean "pre-allocated, not written yet".
_UNWRITTEN = 1024


class Short(Exception):
    """The structure runs past the end of the file: the rest has not been written (yet)."""


#: How the detail of a JPEG whose own image is whole but whose motion-photo video is cut begins
#: (after the format): :func:`only_video_cut` tells it from a cut image.
VIDEO_CUT = "motion photo video cut: "


def only_video_cut(detail: str) -> bool:
    """The file's image is whole; only the motion-photo video behind it is cut (a ``state`` detail)."""
    return detail.startswith(f"JPEG: {VIDEO_CUT}")


class Malformed(Exception):
    """Not what the format says: damage, not truncation (the decodability check decides)."""


def missing(path: Path, file_type: str) -> str | None:
    """None if ``path`` holds a whole ``file_type`` file (or the format cannot tell), else what is
    missing, e.g. ``"MP4: box mdat needs 1100000 more bytes"``."""
    whole, detail = state(path, file_type)
    return detail if whole is False else None


def state(path: Path, file_type: str) -> tuple[bool | None, str]:
    """``(True, "")``: the structure vouches that the file is whole; ``(False, what is missing)``;
    ``(None, why)``: the structure cannot tell (format not walked, or malformed)."""
    kind = file_type.upper()
    if kind not in WALKED:
        return None, f"{kind} is not walked"
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            _walk(f, size, kind)
        except Short as exc:
            return False, f"{kind}: {exc}"
        except (Malformed, struct.error) as exc:
            return None, f"{kind}: malformed ({exc})"
    return True, ""


def _walk(f: BinaryIO, size: int, kind: str) -> None:
    if kind == "JPEG":
        _jpeg_file(f, size)
    elif kind == "PNG":
        _png(f, size)
    elif kind == "GIF":
        _gif(f, size)
    elif kind in ("WEBP", "AVI"):
        _riff(f, size)
    elif kind in ("MKV", "WEBM"):
        _ebml(f, size)
    elif kind == "WMV":
        _asf(f, size)
    elif kind in ("M2TS", "MTS"):
        _transport_stream(f, size)
    elif kind in TIFF_BASED:
        _tiff(f, size)
    else:
        _isobmff(f, 0, size, kind, exact=True)


def _read(f: BinaryIO, pos: int, n: int, size: int, what: str) -> bytes:
    if pos + n > size:
        raise Short(f"{what} needs {pos + n - size} more bytes")
    f.seek(pos)
    data = f.read(n)
    if len(data) < n:
        raise Short(f"{what} needs {n - len(data)} more bytes")
    return data


def _zero_tail(f: BinaryIO, pos: int, size: int) -> bool:
    """True if everything from ``pos`` to the end is zero bytes (a pre-allocated, unwritten tail)."""
    f.seek(pos)
    while pos < size:
        block = f.read(min(_BLOCK, size - pos))
        if not block or block.count(0) != len(block):
            return False
        pos += len(block)
    return True


# -- JPEG ------------------------------------------------------------------------------------
def _jpeg_file(f: BinaryIO, size: int) -> None:
    """The primary image, then any images (MPF, gain maps) or video (motion photos) behind it."""
    end = _jpeg(f, 0, size, primary=True)
    for _ in range(_MAX_PIECES):
        if size - end < 8:
            return
        head = _read(f, end, 8, size, "trailer")
        if head[:2] == b"\xff\xd8":
            end = _jpeg(f, end, size)
        elif head[4:8] == b"ftyp":  # a motion photo's video
            try:
                _isobmff(f, end, size, "MP4", exact=False)
            except Short as exc:
                raise Short(f"{VIDEO_CUT}{exc}") from None
            return
        else:
            return  # other trailers (zero padding, vendor blocks): nothing to tell


def _jpeg(f: BinaryIO, start: int, size: int, primary: bool = False) -> int:
    """Walk one JPEG from its SOI; the offset just past its EOI. ``primary``: the file's first
    image, which may end at the file's own end marker without a scan (see :class:`_Header`)."""
    if _read(f, start, 2, size, "SOI") != b"\xff\xd8":
        raise Malformed("no SOI")
    pos = start + 2
    header = _Header() if primary else None
    while True:
        head = _read(f, pos, 2, size, "marker")
        if head[0] != 0xFF:
            raise Malformed(f"no marker at {pos}")
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if marker in (0xD8, 0x00):
            raise Malformed(f"marker {marker:#x} at {pos}")
        (length,) = struct.unpack(">H", _read(f, pos + 2, 2, size, "segment length"))
        if length < 2:
            raise Malformed("segment length")
        end = pos + 2 + length
        if end > size:
            raise Short(f"segment {marker:#x} needs {end - size} more bytes")
        if header is not None:
            if header.ends_at_file_end(f, marker, pos + 4, length - 2, size):
                return size
            header = None if marker == 0xDA else header
        pos = end
        if marker == 0xDA:  # entropy-coded data up to the next marker
            pos = _next_marker(f, pos, size)


class _Header:
    """What a primary JPEG's header segments say, to skip the scan of its entropy-coded data.

    Finding the end of a scan means looking at every byte of it (a 12 MP photo: ~4 MB, as long
    as its SHA-256 and all of it holding the GIL). It can be skipped when the file's last two
    bytes are the EOI marker and the header shows a single-scan sequential image (SOF0/SOF1, one
    scan with every component, a height in the frame header: no DNL) that declares nothing
    behind it (no MPF APP2 segment, no XMP naming a container, motion photo or micro video).
    Then a file cut anywhere after the first SOS cannot end in EOI: inside entropy-coded data an
    ``FF`` is always followed by ``00`` or a restart marker, so ``FF D9`` is the real end of
    the scan, and every header segment before the SOS was checked to be inside the file.

    What it does not see: an *undeclared* trailer (an appended image or blob the header does not
    mention) cut exactly after an ``FF D9`` inside the trailer's own header bytes. The photo
    itself is whole in that case; the full scan would have walked into the trailer.
    """

    _SEQUENTIAL = (0xC0, 0xC1)
    #: Words in an XMP packet that announce data behind the primary image.
    _PIECES = re.compile(rb"Container|MotionPhoto|MicroVideo|GainMap|hdrgm")

    def __init__(self) -> None:
        self.components = 0  # of the frame (0: no sequential SOF seen yet)
        self.pieces = False

    def ends_at_file_end(self, f: BinaryIO, marker: int, at: int, n: int, size: int) -> bool:
        """Note the segment ``marker`` (payload of ``n`` bytes at ``at``); at the first SOS, True
        when the image can be taken to end at the file's end (the class docstring)."""
        if marker in self._SEQUENTIAL or (0xC2 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)):
            head = _read(f, at, min(n, 6), size, "frame header")
            sequential = marker in self._SEQUENTIAL and len(head) == 6 and head[1:3] != b"\0\0"
            self.components = head[5] if sequential else -1
        elif marker == 0xE2:
            self.pieces |= _read(f, at, min(n, 4), size, "APP2") == b"MPF\0"
        elif marker == 0xE1 and not _read(f, at, min(n, 6), size, "APP1").startswith(b"Exif\0"):
            self.pieces |= self._PIECES.search(_read(f, at, n, size, "APP1")) is not None
        elif marker == 0xDA:
            scan = _read(f, at, 1, size, "scan header")[0] if n else 0
            if self.components <= 0 or scan != self.components or self.pieces or size < 4:
                return False
            return _read(f, size - 2, 2, size, "end") == b"\xff\xd9"
        return False


def _next_marker(f: BinaryIO, pos: int, size: int) -> int:
    while pos < size:
        f.seek(pos)
        block = f.read(min(_BLOCK, size - pos))
        if not block:
            break
        m = _JPEG_MARKER.search(block)
        if m:
            return pos + m.start()
        if pos + len(block) >= size:
            break
        pos += max(1, len(block) - 16)  # overlap: a marker may straddle two blocks
    raise Short("scan data runs to the end of the file, no EOI")


# -- PNG, GIF, RIFF ---------------------------------------------------------------------------
def _png(f: BinaryIO, size: int) -> None:
    if _read(f, 0, 8, size, "signature") != b"\x89PNG\r\n\x1a\n":
        raise Malformed("signature")
    pos = 8
    while True:
        length, kind = struct.unpack(">I4s", _read(f, pos, 8, size, "chunk header"))
        if length == 0 and kind == b"\0\0\0\0" and _zero_tail(f, pos, size):
            raise Short("zero bytes where a chunk should start, no IEND")
        if not kind.isalpha():
            raise Malformed(f"chunk type {kind!r}")
        end = pos + 12 + length
        if end > size:
            raise Short(f"chunk {kind.decode()} needs {end - size} more bytes")
        if kind == b"IEND":
            return
        pos = end


def _gif(f: BinaryIO, size: int) -> None:
    head = _read(f, 0, 13, size, "header")
    if head[:3] != b"GIF":
        raise Malformed("signature")
    pos = 13 + (3 << ((head[10] & 7) + 1) if head[10] & 0x80 else 0)
    while True:
        block = _read(f, pos, 1, size, "block")[0]
        if block == 0x3B:
            return
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _sub_blocks(f, pos + 2, size)
        elif block == 0x2C:  # image: descriptor, local colour table, LZW code size, sub-blocks
            desc = _read(f, pos, 10, size, "image descriptor")
            pos += 10 + (3 << ((desc[9] & 7) + 1) if desc[9] & 0x80 else 0)
            pos = _sub_blocks(f, pos + 1, size)
        elif block == 0 and _zero_tail(f, pos, size):
            raise Short("zero bytes where a block should start, no trailer")
        else:
            raise Malformed(f"block {block:#x}")


def _sub_blocks(f: BinaryIO, pos: int, size: int) -> int:
    while True:
        n = _read(f, pos, 1, size, "sub-block")[0]
        pos += 1 + n
        if n == 0:
            return pos
        if pos > size:
            raise Short(f"sub-block needs {pos - size} more bytes")


def _riff(f: BinaryIO, size: int) -> None:
    head = _read(f, 0, 12, size, "RIFF header")
    if head[:4] != b"RIFF":
        raise Malformed("signature")
    declared = struct.unpack("<I", head[4:8])[0] + 8
    if declared > size:
        raise Short(f"RIFF says {declared} bytes, {size} present")


_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _asf(f: BinaryIO, size: int) -> None:
    """ASF (WMV): top-level objects (header, data, indexes) each declare their size."""
    if _read(f, 0, 16, size, "ASF header") != _ASF_HEADER:
        raise Malformed("signature")
    pos = 0
    while pos < size:
        (length,) = struct.unpack("<Q", _read(f, pos + 16, 8, size, "object size"))
        if length < 24:
            raise Malformed("object size")
        pos += length
        if pos > size:
            raise Short(f"object needs {pos - size} more bytes")


def _transport_stream(f: BinaryIO, size: int) -> None:
    """MPEG transport stream (M2TS/MTS 192-byte, TS 188-byte packets): no partial last packet."""
    head = _read(f, 0, 2 * 192 + 8, size, "packets")
    if head[0] == 0x47 and head[188] == 0x47:
        packet = 188
    elif head[4] == 0x47 and head[196] == 0x47:
        packet = 192
    else:
        raise Malformed("no sync bytes")
    if size % packet:
        raise Short(f"the last {packet}-byte packet has only {size % packet} bytes")


# -- TIFF and TIFF-based RAW ------------------------------------------------------------------
_TIFF_MAGIC = {42, 0x4F52, 0x5352, 0x55}  # TIFF (DNG, CR2, NEF, ARW, PEF, …), ORF, ORF, RW2
#: bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, …, IFD)
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_DATA = ((273, 279), (324, 325), (513, 514))  # strips, tiles, embedded JPEG: (offsets, byte counts)
_SUB_IFDS = {330, 34665, 34853}  # SubIFDs (RAW image data), Exif IFD, GPS IFD
_NEEDED = _SUB_IFDS | {tag for pair in _DATA for tag in pair}


def _tiff(f: BinaryIO, size: int) -> None:
    """Every IFD, and every strip, tile and embedded preview they point at, lies inside the file."""
    head = _read(f, 0, 8, size, "TIFF header")
    e = {b"II": "<", b"MM": ">"}.get(head[:2])
    if e is None or struct.unpack(e + "H", head[2:4])[0] not in _TIFF_MAGIC:
        raise Malformed("TIFF header")
    queue: list[int] = [struct.unpack(e + "I", head[4:8])[0]]
    seen: set[int] = set()
    while queue and len(seen) < 64:
        ifd = queue.pop()
        if ifd == 0 or ifd in seen:
            continue
        if ifd > 16 * size + (1 << 20):
            raise Malformed(f"IFD offset {ifd}")  # garbage, not a file cut short
        seen.add(ifd)
        (count,) = struct.unpack(e + "H", _read(f, ifd, 2, size, "IFD"))
        table = _read(f, ifd + 2, 12 * count + 4, size, "IFD entries")
        values: dict[int, list[int]] = {}
        for i in range(count):
            tag, typ, n = struct.unpack(e + "HHI", table[12 * i:12 * i + 8])
            width = _TYPE_SIZE.get(typ)
            if width is None:
                continue
            raw = table[12 * i + 8:12 * i + 12]
            if n * width > 4:  # stored elsewhere: it must be inside the file too
                (at,) = struct.unpack(e + "I", raw)
                if at > 16 * size + (1 << 20) or n * width > 1 << 30:
                    raise Malformed(f"tag {tag} offset")
                if at + n * width > size:
                    raise Short(f"tag {tag} values need {at + n * width - size} more bytes")
                if tag not in _NEEDED or typ not in (3, 4, 13):
                    continue
                if n > 1_000_000:
                    raise Malformed("IFD count")
                raw = _read(f, at, n * width, size, f"tag {tag} values")
            elif tag not in _NEEDED or typ not in (3, 4, 13):
                continue
            fmt = e + ("H" if width == 2 else "I") * n
            values[tag] = list(struct.unpack(fmt, raw[:n * width]))
        for offsets_tag, counts_tag in _DATA:
            for offset, length in zip(values.get(offsets_tag, []), values.get(counts_tag, []), strict=False):
                if offset + length > size:
                    raise Short(f"image data at {offset} needs {offset + length - size} more bytes")
        queue.extend(values.get(330, []))
        queue.append(struct.unpack(e + "I", table[12 * count:12 * count + 4])[0])


# -- EBML (Matroska, WebM) --------------------------------------------------------------------
def _vint(f: BinaryIO, pos: int, size: int, keep_marker: bool) -> tuple[int, int, bool]:
    first = _read(f, pos, 1, size, "EBML number")[0]
    if first == 0:
        raise Malformed("EBML number")
    n = 8 - first.bit_length() + 1
    raw = _read(f, pos, n, size, "EBML number")
    value = int.from_bytes(raw, "big")
    if not keep_marker:
        value &= (1 << (7 * n)) - 1
    unknown = not keep_marker and value == (1 << (7 * n)) - 1
    return value, pos + n, unknown


_EBML_SEGMENT = 0x18538067


def _ebml(f: BinaryIO, size: int) -> None:
    pos = 0
    segment = False
    while pos < size:
        element, pos_size, _ = _vint(f, pos, size, keep_marker=True)
        length, data, unknown = _vint(f, pos_size, size, keep_marker=False)
        segment = segment or element == _EBML_SEGMENT
        if unknown:
            return  # a live recording's "unknown size" segment: the structure cannot tell
        pos = data + length
        if pos > size:
            raise Short(f"element needs {pos - size} more bytes")
    if not segment:  # the EBML header alone (a copy cut right after it) is not a video
        raise Short("no Segment element yet")


# -- ISO-BMFF (MP4, MOV, 3GP, HEIC, AVIF, CR3) -------------------------------------------------
def _box_type_ok(kind: bytes) -> bool:
    return all(0x20 <= b <= 0x7E or b == 0xA9 for b in kind)


#: Box types found at the top level of camera files. After a whole movie (``moov`` and ``mdat``),
#: anything else is a vendor trailer (Samsung appends one to slow-motion videos), not a box.
_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"moof", b"mfra",
              b"sidx", b"styp", b"pdin", b"pnot", b"junk", b"PICT", b"udta", b"emsg", b"prft", b"ssix",
              b"jP  ", b"CNCV"}


def _trailer(out: list[tuple[bytes, int, int]], kind: bytes, top_level: bool) -> bool:
    seen = {b[0] for b in out}
    return top_level and kind not in _TOP_LEVEL and ({b"moov", b"mdat"} <= seen or b"meta" in seen)


def _boxes(f: BinaryIO, start: int, end: int, size: int,
           top_level: bool = False) -> list[tuple[bytes, int, int]]:
    """``(type, payload offset, box end)`` of each box in ``[start, end)``."""
    out: list[tuple[bytes, int, int]] = []
    pos = start
    while pos < end and len(out) < _MAX_BOXES:
        if end - pos < 8:
            raise Short(f"{end - pos} bytes of a box header")
        box_size, kind = struct.unpack(">I4s", _read(f, pos, 8, size, "box header"))
        header = 8
        if box_size == 1:
            box_size = struct.unpack(">Q", _read(f, pos + 8, 8, size, "box size"))[0]
            header = 16
        if box_size == 0 and not any(kind) and _zero_tail(f, pos, end):
            break  # zero padding (or a pre-allocated, unwritten tail: the moov/meta checks tell)
        if box_size == 0:
            box_size = end - pos  # "to the end of the file"
        if (not _box_type_ok(kind) or box_size < header or pos + box_size > end) and _trailer(out, kind, top_level):
            break
        if not _box_type_ok(kind):
            raise Malformed(f"box type {kind!r}")
        if box_size < header:
            raise Malformed("box size")
        if pos + box_size > end:
            raise Short(f"box {kind.decode('latin-1')} needs {pos + box_size - end} more bytes")
        out.append((kind, pos + header, pos + box_size))
        pos += box_size
    return out


def _isobmff(f: BinaryIO, start: int, size: int, kind: str, exact: bool) -> None:
    """Top-level boxes add up to the end of the file (``exact``) or at least stay inside it."""
    try:
        boxes = _boxes(f, start, size, size, top_level=True)
    except Malformed:
        if exact:
            raise
        return  # an embedded video followed by something else: its boxes so far are inside
    types = {b[0] for b in boxes}
    if boxes and boxes[-1][0] == b"mdat":
        payload, box_end = boxes[-1][1], boxes[-1][2]
        tail = min(_UNWRITTEN, box_end - payload)
        if tail == _UNWRITTEN and _zero_tail(f, box_end - tail, box_end):
            # compressed media never ends in a run of zeros: a pre-allocated file being filled
            raise Short(f"the media data ends in {tail} zero bytes (not written yet)")
    if kind in ISOBMFF_VIDEO:
        if b"moov" not in types:
            raise Short("no moov box (the index is written last)")
        for box_kind, payload, box_end in boxes:
            if box_kind == b"moov":
                _samples_inside(f, payload, box_end, size)
    if kind in ISOBMFF_IMAGE:
        meta = [b for b in boxes if b[0] == b"meta"]
        if not meta and kind != "CR3":
            raise Short("no meta box")
        for _, payload, end in meta:
            _heif_items(f, payload + 4, end, size)


def _inner_boxes(f: BinaryIO, start: int, end: int, size: int) -> list[tuple[bytes, int, int]]:
    """Boxes inside a box that is itself whole: one that overflows it is damage, not truncation."""
    try:
        return _boxes(f, start, end, size)
    except Short as exc:
        raise Malformed(str(exc)) from None


_SAMPLE_PATH = (b"trak", b"mdia", b"minf", b"stbl")


def _samples_inside(f: BinaryIO, start: int, end: int, size: int, depth: int = 0) -> None:
    """Every chunk of every track starts inside the file (a moov written before its mdat)."""
    for kind, payload, box_end in _inner_boxes(f, start, end, size):
        if depth < len(_SAMPLE_PATH) and kind == _SAMPLE_PATH[depth]:
            _samples_inside(f, payload, box_end, size, depth + 1)
        elif depth == len(_SAMPLE_PATH) and kind in (b"stco", b"co64") and box_end - payload <= 64 << 20:
            data = _read(f, payload, box_end - payload, size, kind.decode())
            width = 4 if kind == b"stco" else 8
            count = min(struct.unpack(">I", data[4:8])[0], (len(data) - 8) // width)
            if count:
                offsets = struct.unpack(f">{count}{'I' if width == 4 else 'Q'}", data[8:8 + count * width])
                if max(offsets) >= size:
                    raise Short(f"media data at offset {max(offsets)} is past the end ({size} bytes)")


def _heif_items(f: BinaryIO, start: int, end: int, size: int) -> None:
    """Every item stored at a file offset (tiles, thumbnails, Exif) lies inside the file."""
    for kind, payload, box_end in _inner_boxes(f, start, end, size):
        if kind != b"iloc" or box_end - payload > 16 << 20:
            continue
        data = _read(f, payload, box_end - payload, size, "iloc")
        for item_end in _iloc_extents(data):
            if item_end > size:
                raise Short(f"an image item needs {item_end - size} more bytes")


def _iloc_extents(data: bytes) -> list[int]:
    """Ends of the file-offset extents listed in an ``iloc`` box payload (ISO/IEC 14496-12 8.11.3)."""
    version = data[0]
    off_size, len_size = data[4] >> 4, data[4] & 15
    base_size, idx_size = data[5] >> 4, (data[5] & 15 if version in (1, 2) else 0)
    pos = 6

    def uint(n: int) -> int:
        nonlocal pos
        if pos + n > len(data):
            raise Malformed("iloc")
        v = int.from_bytes(data[pos:pos + n], "big")
        pos += n
        return v

    ends: list[int] = []
    for _ in range(uint(2 if version < 2 else 4)):
        uint(2 if version < 2 else 4)  # item id
        method = uint(2) & 15 if version in (1, 2) else 0
        uint(2)  # data reference index
        base = uint(base_size)
        for _ in range(uint(2)):
            uint(idx_size)
            offset, length = uint(off_size), uint(len_size)
            if method == 0:
                ends.append(base + offset + length)
    return ends
