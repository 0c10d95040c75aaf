"""Motion photos as phones write them, made with ffmpeg and Pillow (small: a few KB each).

- Google: a JPEG whose XMP says ``GCamera:MotionPhoto="1"`` with a ``Container:Directory`` (the
  MotionPhoto item's ``Length``), or the older ``GCamera:MicroVideo`` + ``MicroVideoOffset``; the
  MP4 appended after the JPEG's EOI.
- Samsung: the MP4 in a ``MotionPhoto_Data`` block of an SEF trailer (``SEFH`` directory, length,
  ``SEFT``), as ExifTool's Samsung module reads it (``EmbeddedVideoFile``).
- HEIC: the MP4 in a top-level ``mpvd`` box (ExifTool's ``MotionPhotoVideo``).

``python -m tests.support.motion_samples DIR`` writes the set kept in ``tests/samples/motion/``.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "motion"
XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"


def mp4(seconds: float = 1.0, size: str = "64x48") -> bytes:
    """A tiny H.264 MP4 (a moving test pattern), bit-exact."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4", "-"],
        capture_output=True, check=False)
    if proc.returncode != 0 or not proc.stdout:  # mp4 to a pipe needs a seekable output: use a file
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "v.mp4"
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10",
                            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                            "-fflags", "+bitexact", "-flags:v", "+bitexact", str(out)], check=True)
            return out.read_bytes()
    return proc.stdout


def jpeg(width: int = 64, height: int = 48) -> bytes:
    img = Image.new("RGB", (width, height), (40, 90, 160))
    ImageDraw.Draw(img).rectangle((8, 8, width // 2, height // 2), fill=(230, 200, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def with_xmp(data: bytes, xmp: str) -> bytes:
    """``data`` (a JPEG) with an APP1 XMP segment right after SOI."""
    body = XMP_SIGNATURE + xmp.encode()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def xmp_container(video_length: int | str, padding: int = 0, motion: str = "1") -> str:
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
  xmlns:Container="http://ns.google.com/photos/1.0/container/"
  xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
  GCamera:MotionPhoto="{motion}" GCamera:MotionPhotoVersion="1" GCamera:MotionPhotoPresentationTimestampUs="500000">
 <Container:Directory><rdf:Seq>
  <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"
   Item:Length="0" Item:Padding="{padding}"/></rdf:li>
  <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"
   Item:Length="{video_length}"/></rdf:li>
 </rdf:Seq></Container:Directory>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def xmp_microvideo(offset: int | str) -> str:
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/">
 <GCamera:MicroVideo>1</GCamera:MicroVideo><GCamera:MicroVideoVersion>1</GCamera:MicroVideoVersion>
 <GCamera:MicroVideoOffset>{offset}</GCamera:MicroVideoOffset>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def google(video: bytes, *, length: int | str | None = None, still: bytes | None = None) -> bytes:
    """A Google motion photo: MotionPhoto XMP with the directory, the MP4 appended."""
    return with_xmp(still or jpeg(), xmp_container(len(video) if length is None else length)) + video


def microvideo(video: bytes, *, offset: int | str | None = None) -> bytes:
    """An older Google motion photo (MVIMG): MicroVideoOffset from the end of the file."""
    return with_xmp(jpeg(), xmp_microvideo(len(video) if offset is None else offset)) + video


def samsung_trailer(blocks: list[tuple[int, bytes, bytes]]) -> bytes:
    """An SEF trailer: each (type, name, data) block, then SEFH (entries: type, distance back from
    SEFH, length), then the directory's length and SEFT."""
    out, entries = b"", []
    for kind, name, data in blocks:
        entries.append((kind, len(out), name, data))
        out += struct.pack("<HHI", 0, kind, len(name)) + name + data
    directory = b"SEFH" + struct.pack("<II", 106, len(blocks))
    for kind, pos, name, data in entries:
        length = 8 + len(name) + len(data)
        directory += struct.pack("<HHII", 0, kind, len(out) - pos, length)
    return out + directory + struct.pack("<I", len(directory)) + b"SEFT"


def samsung(video: bytes) -> bytes:
    """A Samsung motion photo: JPEG, then the SEF trailer with ``MotionPhoto_Data``."""
    return jpeg() + samsung_trailer([(0x0A30, b"MotionPhoto_Data", video)])


def heic(video: bytes | None, width: int = 64) -> bytes:
    """A HEIC still with the MP4 in a top-level ``mpvd`` box (None: the XMP-less still alone)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg(width))).save(buf, "HEIF", quality=50)
    data = buf.getvalue()
    return data + (struct.pack(">I", 8 + len(video)) + b"mpvd" + video if video is not None else b"")


def write_set(folder: Path) -> dict[str, Path]:
    """The committed sample set."""
    folder.mkdir(parents=True, exist_ok=True)
    video = mp4()
    made = {
        "PXL_20240501_101010123.MP.jpg": google(video),
        "MVIMG_20190806_183324.jpg": microvideo(video),
        "20240502_121314_samsung.jpg": samsung(video),
        "PXL_20240503_090000000.MP.promise_without_video.jpg": with_xmp(jpeg(), xmp_container(len(video))),
        "PXL_20240504_090000000.MP.wrong_offset.jpg": google(video, length=len(video) * 7),
    }
    out = {}
    for name, data in made.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    (folder / "motion.mp4").write_bytes(video)
    return out


if __name__ == "__main__":
    write_set(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)
