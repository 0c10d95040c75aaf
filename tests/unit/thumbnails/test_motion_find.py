"""Where a motion photo's video is: the committed samples, and whatever offsets, trailers and
XMP a careless or hostile writer puts in (hypothesis) — always an answer, never an exception, and
a range only when it holds an MP4 inside the file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.thumbnails import motion_find
from processor.thumbnails.motion_find import PROBLEMS, locate, parse_xmp
from tests.support import motion_samples as ms

SAMPLES = ms.SAMPLES
VIDEO = (SAMPLES / "motion.mp4").read_bytes()


def _range(path: Path, found: motion_find.Located) -> bytes:
    data = path.read_bytes()
    return data[found.offset:found.offset + found.length]


@pytest.mark.parametrize(("name", "source"), [
    ("PXL_20240501_101010123.MP.jpg", "google_motionphoto"),
    ("MVIMG_20190806_183324.jpg", "google_microvideo"),
    ("20240502_121314_samsung.jpg", "samsung_trailer"),
])
def test_the_samples_give_their_video_byte_for_byte(name, source):
    found = locate(SAMPLES / name)
    assert found is not None and found.problem is None and found.source == source
    assert _range(SAMPLES / name, found) == VIDEO


def test_a_heic_motion_photo_gives_the_mpvd_box(tmp_path):
    path = tmp_path / "IMG.HEIC"
    path.write_bytes(ms.heic(VIDEO))
    found = locate(path)
    assert found is not None and found.source == "heic_mpvd" and _range(path, found) == VIDEO
    path.write_bytes(ms.heic(None))
    assert locate(path) is None


def test_a_promise_without_its_video_is_a_recorded_problem():
    found = locate(SAMPLES / "PXL_20240503_090000000.MP.promise_without_video.jpg")
    assert found is not None and found.problem == "video_missing"
    assert found.entry()["problem"] == "video_missing" and "7099" in found.entry()["detail"]


def test_a_wrong_offset_is_noted_and_the_video_behind_the_image_used():
    path = SAMPLES / "PXL_20240504_090000000.MP.wrong_offset.jpg"
    found = locate(path)
    assert found is not None and found.problem is None and "wrong" in found.note
    assert _range(path, found) == VIDEO


def test_plain_photos_and_other_files_are_not_motion_photos(tmp_path):
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(ms.jpeg())
    other = tmp_path / "notes.txt"
    other.write_bytes(b"hello")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert locate(plain) is None and locate(other) is None and locate(empty) is None
    # an MP4 behind a JPEG without any XMP promise is left alone (it is not a motion photo format)
    plain.write_bytes(ms.jpeg() + VIDEO)
    assert locate(plain) is None


def test_xmp_in_element_form_and_with_a_dtd_is_read_without_expanding_entities():
    element = parse_xmp(ms.xmp_microvideo(123).encode())
    assert element.motion and element.micro_offset == "123"
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + ms.xmp_container("&c;").encode())
    loose = parse_xmp(bomb)
    assert loose.motion and loose.items[1]["Length"] == "&c;"


def test_a_samsung_trailer_that_holds_no_video_is_not_a_motion_photo_but_a_bad_block_is_recorded(tmp_path):
    path = tmp_path / "s.jpg"
    path.write_bytes(ms.jpeg() + ms.samsung_trailer([(0x0A01, b"Image_UTC_Data", b"1714557600000")]))
    assert locate(path) is None
    path.write_bytes(ms.jpeg() + ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", b"")]))
    assert locate(path).problem == "empty_video"
    path.write_bytes(ms.jpeg() + ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", b"not an mp4 at all")]))
    assert locate(path).problem == "not_mp4"


# -- hypothesis: nothing a writer puts in makes locate() fail or point outside the file -----------
OFFSETS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["", " ", "abc", "1e9", "0x10", "-0", "12 34", "NaN", "∞", "\u0661\u0662"]),
)
TRAILERS = st.one_of(
    st.just(VIDEO),
    st.just(b""),
    st.binary(max_size=200),
    st.builds(lambda cut: VIDEO[:cut], st.integers(0, len(VIDEO))),
    st.builds(lambda junk: junk + VIDEO, st.binary(min_size=1, max_size=50)),
    st.just(struct.pack(">I", 8) + b"ftyp"),  # an ftyp box and nothing else
)


def _assert_sane(path: Path, found: motion_find.Located | None) -> None:
    if found is None:
        return
    assert found.problem is None or found.problem in PROBLEMS
    if found.problem is None:
        size = path.stat().st_size
        assert found.offset > 0 and found.length > 0 and found.offset + found.length <= size
        assert path.read_bytes()[found.offset + 4:found.offset + 8] == b"ftyp"
    else:
        assert found.detail


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["container", "microvideo"]), offset=OFFSETS, trailer=TRAILERS)
def test_any_offset_and_any_trailer_give_an_answer_inside_the_file(tmp_path, kind, offset, trailer):
    xmp = ms.xmp_container(offset) if kind == "container" else ms.xmp_microvideo(offset)
    path = tmp_path / "m.jpg"
    path.write_bytes(ms.with_xmp(ms.jpeg(), xmp) + trailer)
    found = locate(path)
    assert found is not None  # the XMP promises a video: always an answer
    _assert_sane(path, found)
    if trailer == VIDEO:  # a whole video behind the image is found, whatever the offset says
        assert found.problem is None and _range(path, found) == VIDEO
    if trailer == b"":
        assert found.problem in ("video_missing", "empty_video", "bad_offset")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=st.sampled_from(["PXL_20240501_101010123.MP.jpg", "MVIMG_20190806_183324.jpg",
                               "20240502_121314_samsung.jpg"]),
       cut=st.integers(min_value=0, max_value=9000), flip=st.integers(min_value=0, max_value=9000))
def test_a_cut_or_damaged_motion_photo_never_breaks_locate(tmp_path, sample, cut, flip):
    data = bytearray((SAMPLES / sample).read_bytes())
    if flip < len(data):
        data[flip] ^= 0xFF
    path = tmp_path / "cut.jpg"
    path.write_bytes(bytes(data[:cut]) if cut < len(data) else bytes(data))
    _assert_sane(path, locate(path))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 2**32 - 1), back=st.integers(0, 2**32 - 1), length=st.integers(0, 2**32 - 1),
       dir_len=st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_hostile_samsung_directories_give_an_answer_inside_the_file(tmp_path, count, back, length, dir_len):
    directory = b"SEFH" + struct.pack("<II", 106, count) + struct.pack("<HHII", 0, 0x0A30, back, length)
    trailer = directory + struct.pack("<I", len(directory) if dir_len is None else dir_len) + b"SEFT"
    path = tmp_path / "s.jpg"
    path.write_bytes(ms.jpeg() + struct.pack("<HHI", 0, 0x0A30, 16) + b"MotionPhoto_Data" + VIDEO + trailer)
    _assert_sane(path, locate(path))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=12000), box=st.sampled_from([None, 0, 1, 7, 8, 2**32 - 1]))
def test_a_cut_or_hostile_heic_never_breaks_locate(tmp_path, cut, box):
    data = ms.heic(VIDEO)
    if box is not None:  # the mpvd box header says something else
        at = data.rfind(b"mpvd") - 4
        data = data[:at] + struct.pack(">I", box) + data[at + 4:]
        if box == 1:
            data = data[:at + 8] + b"\xff" * 8 + data[at + 8:]
    path = tmp_path / "cut.heic"
    path.write_bytes(data[:cut])
    _assert_sane(path, locate(path))


@pytest.mark.parametrize("tail", [9, 12, 15])
def test_a_heic_cut_inside_a_64_bit_box_size_is_no_motion_photo(tmp_path, tail):
    data = ms.heic(None)
    path = tmp_path / "cut.heic"
    path.write_bytes(data + struct.pack(">I", 1) + b"mpvd" + b"\x00" * (tail - 8))
    assert locate(path) is None


def test_the_video_item_is_found_among_other_container_items(tmp_path):
    gain_map = ms.jpeg(32, 24)
    xmp = ms.xmp_container(len(VIDEO)).replace(
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4"',
        f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="GainMap" '
        f'Item:Length="{len(gain_map)}" Item:Padding="3"/></rdf:li>\n'
        '  <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4"', 1)
    before = tmp_path / "gainmap_first.jpg"  # primary, gain map (+3 bytes padding), video
    before.write_bytes(ms.with_xmp(ms.jpeg(), xmp) + gain_map + b"\0\0\0" + VIDEO)
    found = locate(before)
    assert found.problem is None and not found.note and _range(before, found) == VIDEO
    after = tmp_path / "video_first.jpg"  # primary, video (+2 bytes padding), gain map
    xmp_after = ms.xmp_container(len(VIDEO)).replace(
        f'Item:Semantic="MotionPhoto"\n   Item:Length="{len(VIDEO)}"/></rdf:li>',
        f'Item:Semantic="MotionPhoto"\n   Item:Length="{len(VIDEO)}" Item:Padding="2"/></rdf:li>\n'
        f'  <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="GainMap" '
        f'Item:Length="{len(gain_map)}"/></rdf:li>', 1)
    assert xmp_after != ms.xmp_container(len(VIDEO))
    after.write_bytes(ms.with_xmp(ms.jpeg(), xmp_after) + VIDEO + b"\0\0" + gain_map)
    found = locate(after)
    assert found.problem is None and not found.note and _range(after, found) == VIDEO


def test_a_samsung_heic_with_the_sef_trailer_gives_its_video(tmp_path):
    path = tmp_path / "samsung.heic"
    path.write_bytes(ms.heic(None) + ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", VIDEO)]))
    found = locate(path)
    assert found.source == "samsung_trailer" and _range(path, found) == VIDEO


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.99])
@pytest.mark.parametrize("name", ["PXL_20240501_101010123.MP.jpg", "MVIMG_20190806_183324.jpg"])
def test_a_file_cut_in_its_video_says_truncated_video(tmp_path, name, keep):
    data = (SAMPLES / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[:len(data) - len(VIDEO) + int(len(VIDEO) * keep)])
    found = locate(path)
    assert found.problem == "truncated_video", found


def test_a_cut_video_inside_a_samsung_block_or_a_heic_box_says_truncated_video(tmp_path):
    cut = VIDEO[:len(VIDEO) // 2]
    samsung, heic = tmp_path / "s.jpg", tmp_path / "h.heic"
    samsung.write_bytes(ms.jpeg() + ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", cut)]))
    heic.write_bytes(ms.heic(cut))
    assert locate(samsung).problem == "truncated_video" and locate(heic).problem == "truncated_video"
