"""Motion photos: where is the video a phone embedded in a still? Read from the file's own
structure — segment headers, the XMP packet and the tail; never a decode, never a tool.

- Google (Pixel and most Android cameras): XMP ``GCamera:MotionPhoto="1"`` with a
  ``Container:Directory`` whose ``MotionPhoto`` item gives the video's ``Length`` (items follow the
  primary image in order, ``Padding`` bytes after each); the older ``GCamera:MicroVideo="1"`` gives
  ``MicroVideoOffset``, the video's distance from the end of the file.
- Samsung: the SEF trailer (``…SEFH <directory> <length> SEFT`` at the very end) lists a
  ``MotionPhoto_Data`` block; the MP4 follows the block's name.
- HEIC (Google, Samsung): a top-level ``mpvd`` box holds the MP4.

:func:`locate` answers None (no motion photo), a byte range, or a *problem*: the photo promises a
video that is not there (``video_missing``), an offset outside the file (``bad_offset``), bytes at
the offset that are not an MP4 (``not_mp4``), an empty video (``empty_video``), an MP4 whose boxes
run past its range (``truncated_video``: the file was cut in its video). When the declared
offset is wrong but an MP4 follows the image anyway, that MP4 is used and the mismatch noted.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

NS_GCAMERA = "http://ns.google.com/photos/1.0/camera/"
NS_CONTAINER = "http://ns.google.com/photos/1.0/container/"
NS_ITEM = "http://ns.google.com/photos/1.0/container/item/"
XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
SAMSUNG_MOTION = b"MotionPhoto_Data"
SAMSUNG_MOTION_TYPE = 0x0A30

#: Bounds: a hostile file costs at most this much reading before an answer.
MAX_SEGMENTS = 512
MAX_XMP = 1 << 20
MAX_BOXES = 10_000
HEIC_XMP_WINDOW = 1 << 20
_SCAN_BLOCK = 1 << 20

PROBLEMS = ("video_missing", "bad_offset", "not_mp4", "empty_video", "truncated_video", "unplayable")


@dataclass(frozen=True)
class Located:
    """The embedded video's byte range (``offset``, ``length``), or the ``problem`` that stops it."""

    source: str  # google_motionphoto | google_microvideo | samsung_trailer | heic_mpvd
    offset: int = 0
    length: int = 0
    problem: str | None = None
    detail: str = ""
    note: str = ""

    def entry(self) -> dict:
        """The ``PF:MotionPhoto`` metadata entry (without the probe's findings)."""
        out: dict = {"source": self.source, "problem": self.problem}
        if self.problem is None:
            out.update(offset=self.offset, length=self.length)
        if self.detail:
            out["detail"] = self.detail
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Promise:
    """What the XMP says: a motion photo? and where its video is."""

    motion: bool = False
    micro_offset: str | None = None
    items: list[dict] = field(default_factory=list)


def locate(path: Path) -> Located | None:
    """Where ``path``'s embedded video is, what is wrong with it, or None (not a motion photo)."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        head = f.read(12)
        if head[:2] == b"\xff\xd8":
            return _jpeg(f, size)
        if head[4:8] == b"ftyp":
            samsung = _samsung(f, size)  # Samsung HEICs may carry the SEF trailer too
            return samsung if samsung is not None and samsung.problem is None else _heif(f, size)
    return None


# -- JPEG ----------------------------------------------------------------------------------------
def _jpeg(f: BinaryIO, size: int) -> Located | None:
    samsung = _samsung(f, size)
    if samsung is not None and samsung.problem is None:
        return samsung
    promise = Promise()
    for packet in _jpeg_xmp(f):
        found = parse_xmp(packet)
        promise.motion |= found.motion
        promise.micro_offset = promise.micro_offset or found.micro_offset
        promise.items = promise.items or found.items
    if not promise.motion and not _motion_item(promise.items):
        return samsung  # None, or a Samsung trailer that promised a video it does not hold
    return _google(f, size, promise, samsung)


def _jpeg_xmp(f: BinaryIO) -> list[bytes]:
    """The standard XMP packets of the APP1 segments before the first scan."""
    packets: list[bytes] = []
    pos = 2
    for _ in range(MAX_SEGMENTS):
        f.seek(pos)
        head = f.read(4)
        if len(head) < 2 or head[0] != 0xFF:
            break
        marker = head[1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD9, 0xDA) or len(head) < 4:  # end of image, start of scan: no more metadata
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[2:4])
        if length < 2:
            break
        if marker == 0xE1 and length - 2 > len(XMP_SIGNATURE):
            body = f.read(min(length - 2, MAX_XMP))
            if body.startswith(XMP_SIGNATURE):
                packets.append(body[len(XMP_SIGNATURE):])
        pos += 2 + length
    return packets


def _motion_item(items: list[dict]) -> int | None:
    for i, item in enumerate(items):
        if str(item.get("Semantic", "")).strip().lower() == "motionphoto":
            return i
    return None


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _google(f: BinaryIO, size: int, promise: Promise, samsung: Located | None) -> Located:
    index = _motion_item(promise.items)
    if index is not None:
        source = "google_motionphoto"
        tail = promise.items[index:]
        lengths = [_int(it.get("Length", "0")) for it in tail]
        paddings = [_int(it.get("Padding", "0")) for it in tail[:-1]]
        if any(v is None or v < 0 for v in (*lengths, *paddings)):
            declared = None
            detail = f"Container:Directory lengths are not byte counts: {[it.get('Length') for it in tail]}"
        else:
            length = lengths[0] or 0
            declared = (size - sum(v or 0 for v in lengths) - sum(v or 0 for v in paddings), length)
            detail = f"the MotionPhoto item says {length} bytes, {declared[0]} bytes into a {size}-byte file"
    elif promise.micro_offset is not None:
        source = "google_microvideo"
        off = _int(promise.micro_offset)
        declared = None if off is None else (size - off, off)
        detail = f"MicroVideoOffset {promise.micro_offset!r} in a {size}-byte file"
    else:
        source, declared, detail = "google_motionphoto", (0, -1), "the XMP marks a motion photo but gives no offset"
    problem = _check(f, size, declared) if declared is not None else "bad_offset"
    if problem is None and declared is not None:
        return Located(source, declared[0], declared[1])
    found = _search_mp4(f, size)
    if found is not None and found[1] > 0:
        return Located(source, found[0], found[1], note=f"{detail}: wrong; an MP4 follows the image at {found[0]}")
    if found is not None:
        problem, detail = "truncated_video", f"{detail}; the MP4 at {found[0]} is cut"
    if problem in ("not_mp4", "bad_offset") and samsung is None and _ends_at_image_end(f, size):
        problem = "video_missing"  # nothing follows the image at all
    if samsung is not None:  # the trailer is there and holds no video either
        detail += f"; {samsung.detail}"
    return Located(source, problem=problem, detail=detail)


def _check(f: BinaryIO, size: int, declared: tuple[int, int]) -> str | None:
    """None when ``declared`` (start, length) is a range inside the file that starts an MP4."""
    start, length = declared
    if length == -1:  # no offset given: whatever follows the image would have to be it
        return "not_mp4"
    if length == 0:
        return "empty_video"
    if start < 0 or length < 0 or start >= size:
        return "bad_offset"
    if not _starts_mp4(f, start, min(length, size - start)):
        return "not_mp4"
    if start + length > size or _mp4_end(f, start, start + length) == CUT:
        return "truncated_video"
    return None  # an MP4 without its index is the probe's to refuse (unplayable)


def _ends_at_image_end(f: BinaryIO, size: int) -> bool:
    """Nothing follows the image: the file's last bytes (padding aside) are a JPEG EOI."""
    f.seek(max(0, size - 64))
    return f.read().rstrip(b"\x00").endswith(b"\xff\xd9")


# -- Samsung -------------------------------------------------------------------------------------
def _samsung(f: BinaryIO, size: int) -> Located | None:
    """The ``MotionPhoto_Data`` block of a Samsung SEF trailer; None without a trailer."""
    if size < 20:
        return None
    f.seek(size - 8)
    tail = f.read(8)
    if tail[4:] != b"SEFT":
        return None
    (dir_len,) = struct.unpack("<I", tail[:4])
    dir_pos = size - 8 - dir_len
    bad = "samsung_trailer"
    if dir_len < 12 or dir_pos < 0:
        return Located(bad, problem="bad_offset", detail=f"SEF directory of {dir_len} bytes in a {size}-byte file")
    f.seek(dir_pos)
    directory = f.read(min(dir_len, 1 << 16))
    if directory[:4] != b"SEFH":
        return Located(bad, problem="bad_offset", detail=f"no SEFH directory {dir_len} bytes before the end")
    (count,) = struct.unpack("<I", directory[8:12])
    for i in range(min(count, (len(directory) - 12) // 12)):
        _pad, kind, back, length = struct.unpack("<HHII", directory[12 + 12 * i: 24 + 12 * i])
        block = dir_pos - back
        if block < 0 or length < 8 or block + length > dir_pos:
            if kind == SAMSUNG_MOTION_TYPE:
                return Located(bad, problem="bad_offset",
                               detail=f"MotionPhoto_Data block at -{back} ({length} bytes) outside the file")
            continue
        f.seek(block)
        header = f.read(8)
        (name_len,) = struct.unpack("<I", header[4:8])
        name = f.read(min(name_len, 256))
        if kind != SAMSUNG_MOTION_TYPE and name != SAMSUNG_MOTION:
            continue
        start, video_len = block + 8 + name_len, length - 8 - name_len
        if video_len <= 0:
            return Located(bad, problem="empty_video", detail="MotionPhoto_Data block holds no bytes")
        if not _starts_mp4(f, start, video_len):
            return Located(bad, problem="not_mp4", detail=f"MotionPhoto_Data at {start} is not an MP4")
        if _mp4_end(f, start, start + video_len) == CUT:
            return Located(bad, problem="truncated_video", detail=f"the MP4 at {start} runs past its block")
        return Located(bad, start, video_len)
    return None


# -- HEIC ----------------------------------------------------------------------------------------
def _heif(f: BinaryIO, size: int) -> Located | None:
    pos = 0
    for _ in range(MAX_BOXES):
        if pos + 8 > size:
            break
        box_size, kind, header = _box(f, pos, size)
        if box_size < header or pos + box_size > size:
            break
        if kind == b"mpvd":
            start, length = pos + header, box_size - header
            if length == 0:
                return Located("heic_mpvd", problem="empty_video", detail="the mpvd box is empty")
            if not _starts_mp4(f, start, length):
                return Located("heic_mpvd", problem="not_mp4", detail=f"the mpvd box at {pos} holds no MP4")
            if _mp4_end(f, start, start + length) == CUT:
                return Located("heic_mpvd", problem="truncated_video", detail=f"the MP4 in the mpvd box at {pos} "
                                                                              "runs past the box")
            return Located("heic_mpvd", start, length)
        pos += box_size
    f.seek(0)
    window = f.read(HEIC_XMP_WINDOW)
    start = window.find(b"<x:xmpmeta")
    if start < 0:
        return None
    end = window.find(b"</x:xmpmeta>", start)
    promise = parse_xmp(window[start:end + 12] if end > 0 else window[start:])
    if not promise.motion and _motion_item(promise.items) is None:
        return None
    return Located("heic_mpvd", problem="video_missing", detail="the XMP marks a motion photo; no mpvd box holds it")


def _box(f: BinaryIO, pos: int, size: int) -> tuple[int, bytes, int]:
    """(size, type, header length) of the ISO-BMFF box at ``pos``; size 0 when it cannot be one."""
    f.seek(pos)
    head = f.read(16)
    if len(head) < 8:
        return 0, b"", 8
    box_size, kind = struct.unpack(">I4s", head[:8])
    if box_size == 1:
        if len(head) < 16:
            return 0, kind, 16
        return struct.unpack(">Q", head[8:16])[0], kind, 16
    if box_size == 0:
        return size - pos, kind, 8
    return box_size, kind, 8


# -- MP4 ----------------------------------------------------------------------------------------
def _starts_mp4(f: BinaryIO, start: int, length: int) -> bool:
    """The range begins with an ISO-BMFF ``ftyp`` box that fits in it."""
    f.seek(start)
    head = f.read(8)
    if len(head) < 8 or head[4:8] != b"ftyp":
        return False
    (box,) = struct.unpack(">I", head[:4])
    return 8 <= box <= min(length, 4096)


def _search_mp4(f: BinaryIO, size: int) -> tuple[int, int] | None:
    """The first whole MP4 (``ftyp`` … ``moov``) behind the image: (start, length); (start, -1)
    when the only one found is cut (its boxes run past the end of the file)."""
    pos, carry, cut = 0, b"", None
    while pos < size:
        f.seek(pos)
        block = f.read(_SCAN_BLOCK)
        if not block:
            break
        data = carry + block
        base = pos - len(carry)
        at = data.find(b"ftyp")
        while at >= 0:
            start = base + at - 4
            if start > 2 and _starts_mp4(f, start, size - start):
                end = _mp4_end(f, start, size)
                if end is not None and end > 0:
                    return start, end - start
                if end == CUT and cut is None:
                    cut = (start, -1)
            at = data.find(b"ftyp", at + 1)
        carry = block[-7:]
        pos += len(block)
    return cut


_BOX_TYPE = re.compile(rb"^[A-Za-z0-9 \xa9_-]{4}$")


#: :func:`_mp4_end`'s answer for an MP4 whose boxes run past the end of its range.
CUT = -1


def _mp4_end(f: BinaryIO, start: int, end: int) -> int | None:
    """Where the MP4 that starts at ``start`` ends: after its last top-level box (``moov`` among
    them) before ``end`` or before bytes that are no box; :data:`CUT` when a box runs past
    ``end``; None when it has no ``moov`` (no index: not playable)."""
    pos, seen_moov = start, False
    for _ in range(MAX_BOXES):
        if pos + 8 > end:
            break
        box_size, kind, header = _box(f, pos, end)
        if not _BOX_TYPE.match(kind) or box_size < header:
            break
        if pos + box_size > end:
            return CUT
        seen_moov |= kind == b"moov"
        pos += box_size
    return pos if seen_moov and pos > start else None


# -- XMP -----------------------------------------------------------------------------------------
_ATTR = re.compile(rb'(?:GCamera|Item):(\w+)\s*=\s*"([^"]*)"')
_ELEM = re.compile(rb"<GCamera:(\w+)>([^<]*)</GCamera:\1>")
_ITEM = re.compile(rb"<Container:Item\b([^>]*)>")


def parse_xmp(packet: bytes) -> Promise:
    """The motion-photo facts of one XMP packet (namespace-aware; a packet ElementTree refuses,
    or one with a DTD — entity expansion — is read with patterns on the usual prefixes)."""
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        return _parse_loosely(packet)
    start = packet.find(b"<")
    try:
        root = ET.fromstring(packet[start:].rstrip(b"\x00 \r\n\t") if start >= 0 else b"")
    except ET.ParseError:
        return _parse_loosely(packet)
    out = Promise()
    for el in root.iter():
        values = dict(el.attrib)
        if len(el) == 0 and el.text is not None:
            values[el.tag] = el.text
        for key, value in values.items():
            if key in (f"{{{NS_GCAMERA}}}MotionPhoto", f"{{{NS_GCAMERA}}}MicroVideo"):
                out.motion |= value.strip() == "1"
            elif key == f"{{{NS_GCAMERA}}}MicroVideoOffset":
                out.micro_offset = value
        if el.tag == f"{{{NS_CONTAINER}}}Item":
            item = {k.split("}", 1)[1]: v for k, v in el.attrib.items() if k.startswith(f"{{{NS_ITEM}}}")}
            for child in el:
                if child.tag.startswith(f"{{{NS_ITEM}}}") and child.text is not None:
                    item[child.tag.split("}", 1)[1]] = child.text
            out.items.append(item)
    return out


def _parse_loosely(packet: bytes) -> Promise:
    out = Promise()
    for key, value in [*_ATTR.findall(packet), *_ELEM.findall(packet)]:
        if key in (b"MotionPhoto", b"MicroVideo"):
            out.motion |= value.strip() == b"1"
        elif key == b"MicroVideoOffset":
            out.micro_offset = value.decode("ascii", "replace")
    for attrs in _ITEM.findall(packet):
        out.items.append({k.decode(): v.decode("utf-8", "replace")
                          for k, v in re.findall(rb'Item:(\w+)\s*=\s*"([^"]*)"', attrs)})
    return out
