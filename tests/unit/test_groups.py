"""The grouping rules (librarian/groups.py): pure, with hypothesis over names, folders and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from librarian import groups
from librarian.groups import Member

T0 = datetime(2024, 1, 31, 22, 59, 59, tzinfo=UTC)
CAM = ("apple", "iphone 12")


def m(ref: str, name: str, media: str = "image", *, folder: str = "", dt: float = 0.0, tagged: bool = True,
      **kw) -> Member:
    kw.setdefault("camera", CAM)
    return Member(ref=ref, name=name, folder=folder, media=media, when=T0 + timedelta(seconds=dt),
                  tagged=tagged, **kw)


def kinds(found: list[groups.Group]) -> list[tuple[str, dict[str, str]]]:
    return sorted(((g.kind, g.roles) for g in found), key=lambda kr: (kr[0], sorted(kr[1].items())))


def test_a_live_photo_pairs_by_its_content_identifier_across_folders_and_names():
    found = groups.plan([m("s", "IMG_0001.HEIC", folder="phone", content_id="X"),
                         m("v", "clip.MOV", "video", folder="other", dt=600, content_id="X")])
    assert kinds(found) == [("live_photo", {"s": "still", "v": "video"})]
    assert found[0].key == "X"


def test_a_live_photo_without_identifiers_pairs_by_folder_name_and_time():
    found = groups.plan([m("s", "IMG_0002.JPG", dt=0), m("v", "IMG_0002.MOV", "video", dt=1.2)])
    assert kinds(found) == [("live_photo", {"s": "still", "v": "video"})]
    assert found[0].key is None


def test_an_hevc_video_name_pairs_with_its_still():
    found = groups.plan([m("s", "IMG_0003.HEIC"), m("v", "IMG_0003_HEVC.MOV", "video", dt=0.5)])
    assert kinds(found) == [("live_photo", {"s": "still", "v": "video"})]


@given(days=st.floats(min_value=3.01 / 86400, max_value=4000), sign=st.sampled_from([-1, 1]))
def test_same_name_files_taken_apart_never_pair(days, sign):
    found = groups.plan([m("s", "IMG_0004.JPG"), m("v", "IMG_0004.MOV", "video", dt=sign * days * 86400)])
    assert found == []


@given(dt=st.floats(min_value=-3, max_value=3))
def test_same_name_files_within_three_seconds_pair(dt):
    assert len(groups.plan([m("s", "IMG_0004.JPG"), m("v", "IMG_0004.MOV", "video", dt=dt)])) == 1


def test_two_different_identifiers_never_pair_even_with_the_same_name():
    found = groups.plan([m("s", "IMG_5.JPG", content_id="A"), m("v", "IMG_5.MOV", "video", content_id="B")])
    assert found == []


def test_files_dated_only_by_file_times_never_pair_by_name():
    found = groups.plan([m("s", "IMG_6.JPG", tagged=False), m("v", "IMG_6.MOV", "video", tagged=False)])
    assert found == []


def test_a_different_folder_does_not_pair_by_name():
    assert groups.plan([m("s", "IMG_7.JPG", folder="a"), m("v", "IMG_7.MOV", "video", folder="b")]) == []


def test_raw_and_jpeg_pair_within_one_and_a_half_seconds_of_one_camera():
    found = groups.plan([m("j", "DSC_1.JPG"), m("r", "DSC_1.DNG", "raw", dt=1.4)])
    assert kinds(found) == [("raw_jpeg", {"j": "jpeg", "r": "raw"})]
    assert groups.plan([m("j", "DSC_1.JPG"), m("r", "DSC_1.DNG", "raw", dt=1.6)]) == []
    assert groups.plan([m("j", "DSC_1.JPG"), m("r", "DSC_1.DNG", "raw", camera=("canon", "r5"))]) == []
    assert groups.plan([m("j", "DSC_1.JPG", camera=None), m("r", "DSC_1.DNG", "raw", camera=None)]) == []


def test_pixel_raw_and_jpeg_names_pair():
    found = groups.plan([m("j", "PXL_20240131_225959123.RAW-01.COVER.jpg"),
                         m("r", "PXL_20240131_225959123.RAW-02.ORIGINAL.dng", "raw", dt=0.1)])
    assert kinds(found) == [("raw_jpeg", {"j": "jpeg", "r": "raw"})]


def test_apple_and_takeout_edits_pair_with_their_original():
    found = groups.plan([m("o", "IMG_0006.HEIC"), m("e", "IMG_E0006.JPG", dt=30),
                         m("o2", "PXL_1.jpg"), m("e2", "PXL_1-edited.jpg"), m("e3", "PXL_1-bearbeitet.jpg")])
    assert kinds(found) == [("edit", {"o": "original", "e": "edited"}),
                            ("edit", {"o2": "original", "e2": "edited", "e3": "edited"})]


def test_an_edit_of_a_file_taken_days_later_is_no_edit():
    assert groups.plan([m("o", "IMG_0006.JPG"), m("e", "IMG_E0006.JPG", dt=3 * 86400)]) == []


def test_a_burst_by_uuid_by_vendor_name_and_by_sub_second_sequence():
    uuid = [m(f"u{i}", f"IMG_10{i}.JPG", dt=i * 0.1, burst_id="B1") for i in range(3)]
    pixel = [m("p0", "00000IMG_00000_BURST20240131225959123_COVER.jpg", dt=0.3),
             m("p1", "00001IMG_00001_BURST20240131225959123.jpg", dt=0)]
    seq = [m(f"q{i}", f"DSC_20{i}.JPG", folder="cam", dt=i * 0.25, subsec=True) for i in range(4)]
    found = {g.kind + str(sorted(g.roles)): g for g in groups.plan([*uuid, *pixel, *seq])}
    assert len(found) == 3
    by_uuid = next(g for g in found.values() if g.key == "B1")
    assert by_uuid.roles == {"u0": "primary", "u1": "member", "u2": "member"}
    cover = next(g for g in found.values() if "p0" in g.roles)
    assert cover.roles == {"p0": "primary", "p1": "member"}
    seqg = next(g for g in found.values() if "q0" in g.roles)
    assert seqg.roles["q0"] == "primary" and len(seqg.roles) == 4


def test_two_frames_a_second_apart_are_no_burst():
    assert groups.plan([m("a", "A.JPG", subsec=True), m("b", "B.JPG", dt=0.5, subsec=True)]) == []


def test_a_late_video_joins_its_filed_still():
    still = m("s", "IMG_1.HEIC", filed=True)
    found = groups.plan([still, m("v", "IMG_1.MOV", "video", dt=1)])
    assert kinds(found) == [("live_photo", {"s": "still", "v": "video"})]


def test_a_complete_filed_live_photo_takes_no_second_video():
    still = m("s", "IMG_1.HEIC", filed=True, group_id=7, group_kind="live_photo", role="still")
    assert groups.plan([still, m("v2", "IMG_1.MOV", "video", dt=1)]) == []


def test_a_late_edit_joins_the_filed_edit_group():
    orig = m("o", "IMG_1.JPG", filed=True, group_id=3, group_kind="edit", role="original")
    found = groups.plan([orig, m("e", "IMG_1-edited.JPG", dt=1)])
    assert len(found) == 1 and found[0].group_id == 3 and found[0].roles == {"o": "original", "e": "edited"}


def test_a_video_whose_identifier_matches_two_stills_pairs_with_the_closest_one():
    found = groups.plan([m("s1", "IMG_1.JPG", content_id="X", dt=50), m("s2", "IMG_2.JPG", content_id="X", dt=1),
                         m("v", "IMG_1.MOV", "video", content_id="X")])
    assert kinds(found) == [("live_photo", {"s2": "still", "v": "video"})]


names = st.sampled_from(["IMG_0001.JPG", "IMG_0001.MOV", "IMG_0001_HEVC.MOV", "IMG_E0001.JPG", "IMG_0001.DNG",
                         "IMG_0001-edited.JPG", "IMG_0002.HEIC", "IMG_0002.MOV", "DSC_20240131_225959_001.jpg",
                         "x.jpg", "00000IMG_00000_BURST20240131225959123_COVER.jpg"])
members = st.lists(st.builds(
    lambda i, name, folder, dt, tagged, cid, burst, cam, sub: Member(
        ref=f"r{i}", name=name, folder=folder,
        media="video" if name.endswith("MOV") else "raw" if name.endswith("DNG") else "image",
        when=T0 + timedelta(seconds=dt), tagged=tagged, subsec=sub, camera=cam, content_id=cid, burst_id=burst),
    st.integers(0, 10**6), names, st.sampled_from(["", "a", "b"]), st.floats(-5, 5), st.booleans(),
    st.sampled_from([None, "X", "Y"]), st.sampled_from([None, "B"]), st.sampled_from([None, CAM]),
    st.booleans()), max_size=12, unique_by=lambda x: x.ref)


@settings(max_examples=150, deadline=None)
@given(members, st.randoms())
def test_every_group_has_one_primary_and_unique_roles_and_no_member_twice(ms, rnd):
    found = groups.plan(ms)
    seen: set[str] = set()
    for g in found:
        assert len(g.roles) >= 2
        assert not seen & set(g.roles), "an asset in two groups"
        seen |= set(g.roles)
        held = list(g.roles.values())
        assert held.count(groups.PRIMARY_ROLE[g.kind]) == 1
        assert all(held.count(r) == 1 for r in held if r not in groups.MANY)
    shuffled = list(ms)
    rnd.shuffle(shuffled)
    assert kinds(groups.plan(shuffled)) == kinds(found), "the plan depends on the order of the files"


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_name_helpers_never_fail(name):
    for media in ("image", "video", "raw"):
        assert groups.pair_name("f", name, media).startswith("f/")
    groups.edit_of(name)
    groups.burst_name(name)
