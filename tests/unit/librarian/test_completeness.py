"""A file cut short at any byte is never taken for a whole one (librarian/completeness.py, checks.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from librarian import checks, completeness
from tests.support import samples

BUDGET = 256 << 20


def _faststart(src: Path, dest: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-movflags", "+faststart",
                    str(dest)], check=True)
    return dest


def _tiff_raw(path: Path) -> Path:
    """A TIFF-structured RAW stand-in: a big-endian TIFF with an embedded JPEG preview (ExifTool)."""
    tif = samples.image(path.with_name(path.stem + "-raw.tif"), size=(96, 64), compression="tiff_lzw")
    preview = samples.image(path.with_name("preview.jpg"), size=(160, 120))
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-PreviewImage<={preview}", str(tif)], check=True)
    tif.rename(path)
    return path


def _convert(src: Path, dest: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dest)], check=True)
    return dest


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    d = tmp_path_factory.mktemp("whole")
    mp4 = samples.video(d / "a.mp4", seconds=2.0, size="96x64")
    files = {
        "mp4": ("MP4", mp4),
        "mp4_faststart": ("MP4", _faststart(mp4, d / "fast.mp4")),
        "mov": ("MOV", samples.video(d / "a.mov", seconds=2.0, size="96x64")),
        "jpeg": ("JPEG", samples.photo(d / "a.jpg", size=(160, 120))),
        "jpeg_progressive": ("JPEG", samples.image(d / "p.jpg", size=(160, 120), progressive=True)),
        "png": ("PNG", samples.image(d / "a.png", size=(160, 120))),
        "heic": ("HEIC", samples.image(d / "a.heic", size=(160, 120))),
        "gif": ("GIF", samples.image(d / "a.gif", size=(160, 120))),
        "webp": ("WEBP", samples.image(d / "a.webp", size=(160, 120))),
        "mkv": ("MKV", samples.video(d / "a.mkv", seconds=1.0)),
        "wmv": ("WMV", _convert(mp4, d / "a.wmv", "-c:v", "wmv2")),
        "m2ts": ("M2TS", _convert(mp4, d / "a.m2ts", "-c", "copy", "-mpegts_m2ts_mode", "1")),
        "avi": ("AVI", samples.video(d / "a.avi", seconds=1.0)),
        "tiff": ("TIFF", samples.image(d / "a.tif", size=(160, 120))),
        "tiff_deflate": ("TIFF", samples.image(d / "t.tif", size=(160, 120), compression="tiff_adobe_deflate")),
        "nef": ("NEF", _tiff_raw(d / "a.nef")),
    }
    return {name: (kind, path.read_bytes()) for name, (kind, path) in files.items()}


def test_every_whole_sample_is_complete_and_passes_the_checks(whole, tmp_path):
    for name, (kind, data) in whole.items():
        f = tmp_path / name
        f.write_bytes(data)
        assert completeness.state(f, kind) == (True, ""), name
        assert checks.examine(f, kind, BUDGET) == checks.Finding(), name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_file_cut_at_any_byte_is_never_whole(whole, tmp_path, data):
    name = data.draw(st.sampled_from(sorted(set(whole) - {"m2ts"})))  # packet-aligned cuts look whole
    kind, content = whole[name]
    cut = data.draw(st.integers(min_value=1, max_value=len(content) - 1))
    f = tmp_path / f"cut-{name}"
    f.write_bytes(content[:cut])
    found = checks.examine(f, kind, BUDGET)
    assert found.incomplete or (found.problem and found.problem[0] == "truncated"), (name, cut, found)


def test_a_preallocated_file_still_being_filled_is_incomplete(whole, tmp_path):
    for name in ("mp4", "mov", "jpeg", "png", "heic", "gif"):
        kind, content = whole[name]
        half = len(content) // 2
        f = tmp_path / name
        f.write_bytes(content[:half] + bytes(len(content) - half))
        assert checks.examine(f, kind, BUDGET).incomplete, name


def test_zero_padding_after_a_whole_video_is_padding(whole, tmp_path):
    kind, content = whole["mp4"]
    f = tmp_path / "padded.mp4"
    f.write_bytes(content + bytes(4096))
    assert completeness.state(f, kind)[0] is True


def test_a_faststart_mp4_cut_before_its_media_data_is_incomplete(whole, tmp_path):
    kind, content = whole["mp4_faststart"]
    mdat = content.index(b"mdat") - 4
    f = tmp_path / "cut.mp4"
    f.write_bytes(content[:mdat])
    assert "past the end" in (completeness.missing(f, kind) or "")


def test_a_transport_stream_cut_inside_a_packet_is_incomplete(whole, tmp_path):
    kind, content = whole["m2ts"]
    f = tmp_path / "cut.m2ts"
    f.write_bytes(content[: len(content) // 2 // 192 * 192 + 100])
    assert "packet" in (completeness.missing(f, kind) or "")


def test_a_vendor_trailer_after_a_whole_movie_is_not_a_missing_box(whole, tmp_path):
    kind, content = whole["mp4"]
    f = tmp_path / "samsung.mp4"
    f.write_bytes(content + b"\x00\x00\x10\x00SEFH" + b"slow motion data" * 10)  # declares more than follows
    assert completeness.state(f, kind)[0] is True
    f.write_bytes(content + b"\x00\x00\x10\x00mdat" + b"x" * 100)  # a box we know, cut short
    assert completeness.state(f, kind)[0] is False


# -- the end-marker shortcut for single-scan JPEGs (completeness._Header) ----------------------
def test_a_whole_camera_jpeg_is_vouched_for_without_scanning_its_image_data(tmp_path, monkeypatch):
    """The scan of a 12 MP photo's entropy-coded data cost as much as its SHA-256 (~4 MB at regex
    speed, holding the GIL): a single-scan JPEG ending in EOI that declares nothing behind it is
    whole without it. (Fails on the old walk, which always scanned.)"""
    f = samples.photo(tmp_path / "a.jpg", size=(640, 480))
    samples.exif(f, "-ThumbnailImage<=" + str(samples.image(tmp_path / "t.jpg", size=(160, 120))))

    def no_scan(*_args: object) -> int:
        raise AssertionError("the image data was scanned")

    monkeypatch.setattr(completeness, "_next_marker", no_scan)
    assert completeness.state(f, "JPEG") == (True, "")


def _with_exif_thumbnail(tmp_path: Path, name: str) -> bytes:
    f = samples.photo(tmp_path / name, size=(320, 240))
    thumb = samples.image(tmp_path / f"thumb-{name}", size=(160, 120))
    return samples.exif(f, f"-ThumbnailImage<={thumb}").read_bytes()


def test_a_jpeg_cut_right_after_an_embedded_end_marker_is_never_whole(tmp_path):
    """Every ``FF D9`` of the file that is not its real end: the EXIF thumbnail's (in the header),
    and each one behind an image whose header declares more (MPF, a motion photo's XMP): a file
    cut right after any of them ends in an end marker, and must still be incomplete."""
    from tests.support import motion_samples

    primary = _with_exif_thumbnail(tmp_path, "a.jpg")
    second = _with_exif_thumbnail(tmp_path, "b.jpg")
    video = samples.video(tmp_path / "v.mp4").read_bytes()
    mpf_app2 = b"\xff\xe2" + (4 + 2 + 8).to_bytes(2, "big") + b"MPF\x00" + b"MM\x00\x2a\x00\x00\x00\x08"
    motion = motion_samples.with_xmp(primary, motion_samples.xmp_container(len(video) + 2))
    files = {  # name: (content, where its primary image ends: a cut there leaves a whole photo)
        "thumbnail": (primary, len(primary)),
        "mpf": (primary[:2] + mpf_app2 + primary[2:] + second, len(primary) + len(mpf_app2)),
        "motion": (motion + video + b"\xff\xd9", len(motion)),
    }
    for name, (content, primary_end) in files.items():
        ends = [i + 2 for i in range(len(content) - 1) if content[i:i + 2] == b"\xff\xd9"]
        assert ends[-1] == len(content) and len(ends) >= 2, name
        for cut in ends[:-1]:
            if cut == primary_end:
                continue
            f = tmp_path / f"cut-{name}-{cut}.jpg"
            f.write_bytes(content[:cut])
            assert completeness.state(f, "JPEG")[0] is False, (name, cut)
            assert checks.examine(f, "JPEG", BUDGET).incomplete, (name, cut)
