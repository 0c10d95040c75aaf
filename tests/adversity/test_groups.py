"""Groups under adversity: hostile names, one identifier claimed by two stills, members across
devices and folders, a name taken for one member only, late members, a corrupt member (kill -9
in the middle of a group: test_group_crashes.py). Each runs the real ``photo-factory librarian
--once`` and ends with the invariant checker (which also states that every group is whole)."""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

from tests.adversity.filing_support import query, run_librarian, tmpfs
from tests.support import group_samples, invariants

DAY = "Library/2024/2024-01-31"


def shas(*paths: Path | bytes) -> set[str]:
    return {invariants.sha256(Path(os.fsdecode(p))) for p in paths}


def groups_of(database_url: str) -> list[list[tuple[str, str]]]:
    """Each group's members as sorted (library name, role)."""
    rows = query(database_url, "SELECT group_id, library_path, group_role FROM media_assets"
                               " WHERE group_id IS NOT NULL ORDER BY group_id, library_path")
    out: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        out.setdefault(r["group_id"], []).append((Path(r["library_path"]).name, r["group_role"]))
    return list(out.values())


def pair(inbox: Path, still: bytes, video: bytes, second: int, *, content_id: str | None = None) -> set[str]:
    """A Live Photo (still + video) under any byte names, taken at 23:59:<second>."""
    tmp = inbox.parent / "make"
    when = f"2024:01:31 23:59:{second:02d}"
    s = group_samples.apple_still(tmp / f"s{second}.jpg", when, content_id=content_id, seed=second)
    v = group_samples.live_video(tmp / f"v{second}.mov", when, content_id=content_id, seed=second)
    out = shas(s, v)
    for src, name in ((s, still), (v, video)):
        dest = os.path.join(os.fsencode(inbox), name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.move(src, os.fsdecode(dest))
    return out


def run(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "librarian.log"
    assert run_librarian(env, log) == 0, log.read_text()[-4000:]


HOSTILE = [
    (b"-rf IMG_1.JPG", b"-rf IMG_1.MOV"),                     # an option, if it reached a tool
    (b"\xff\xfe bad IMG_2.JPG", b"\xff\xfe bad IMG_2.MOV"),   # not UTF-8
    ("e\u0301t\u00e9 IMG_3.JPG".encode(), "\u00e9t\u00e9 IMG_3.mov".encode()),  # NFD still, NFC video, any case
    (b"sub/IMG_4.jpg", b"sub/img_4_hevc.MOV"),                # case and _HEVC
    (("日" * 78 + ".JPG").encode(), ("日" * 78 + ".MOV").encode()),  # 238 bytes: the suffix must fit
    (b"IMG 5 .JPG", b"IMG 5 .MOV"),                           # spaces
]


def test_hostile_and_odd_base_names_still_pair_and_keep_paired_names(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    originals: set[str] = set()
    for i, (still, video) in enumerate(HOSTILE):
        originals |= pair(inbox, still, video, 10 + i)
        if i < 2:  # the same names again, from another folder: the whole pair takes _1
            originals |= pair(inbox, b"again/" + still.split(b"/")[-1], b"again/" + video.split(b"/")[-1], 30 + i)
    run(pf_env, tmp_path)
    found = groups_of(database_url)
    assert len(found) == len(HOSTILE) + 2, found
    for members in found:
        (a, ra), (b, rb) = members
        assert {ra, rb} == {"still", "video"}
        # one collision suffix for both: the stems differ only by case and the video's _HEVC
        stems = {unicodedata.normalize("NFC", os.path.splitext(n)[0]).casefold().replace("_hevc", "")
                 for n in (a, b)}
        assert len(stems) == 1, members
    invariants.check(database_url, inbox, storage["storage"], originals)


def test_a_video_whose_identifier_two_stills_claim_pairs_once_and_the_other_still_stays_alone(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    cid = "DUPE-0000-0000"
    originals = pair(inbox, b"a/IMG_1.JPG", b"a/IMG_1.MOV", 10, content_id=cid)
    s2 = group_samples.apple_still(inbox / "b/IMG_9.JPG", "2024:01:31 23:59:40", content_id=cid, seed=99)
    originals |= shas(s2)
    run(pf_env, tmp_path)
    assert groups_of(database_url) == [[("IMG_1.JPG", "still"), ("IMG_1.MOV", "video")]]
    # a third still with the same identifier, in a later run: the group is complete, it stays alone
    s3 = group_samples.apple_still(inbox / "c/IMG_1.JPG", "2024:01:31 23:59:10", content_id=cid, seed=98)
    originals |= shas(s3)
    run(pf_env, tmp_path)
    assert groups_of(database_url) == [[("IMG_1.JPG", "still"), ("IMG_1.MOV", "video")]]
    invariants.check(database_url, inbox, storage["storage"], originals)


def test_members_in_different_folders_and_on_different_devices_are_filed_together(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    with tmpfs(inbox / "sdcard"):
        originals = pair(inbox, b"DCIM/IMG_7.HEIC.jpg", b"sdcard/clip.MOV", 20, content_id="XDEV-1")
        # a name pair split over two folders never pairs by name
        originals |= pair(inbox, b"x/IMG_8.JPG", b"y/IMG_8.MOV", 21)
        run(pf_env, tmp_path)
        assert groups_of(database_url) == [[("IMG_7.HEIC.jpg", "still"), ("clip.MOV", "video")]]
        invariants.check(database_url, inbox, storage["storage"], originals)


def test_a_name_taken_for_one_member_only_moves_the_whole_group_to_the_next_suffix(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    # run 1: an unrelated IMG_2.MOV of the same day, and the still of another Live Photo alone
    other = group_samples.live_video(inbox / "other/IMG_2.MOV", "2024:01:31 08:00:00", seed=5)
    originals = shas(other) | pair(inbox, b"p2/IMG_3.JPG", b"p2/tmp.MOV", 51)
    (inbox / "p2/tmp.MOV").rename(tmp_path / "IMG_3.MOV")
    run(pf_env, tmp_path)
    # run 2: a pair whose video name is taken; the late video of IMG_3, whose paired name an
    # unrelated file (registered by the library check) took meanwhile: next free name, still grouped
    originals |= pair(inbox, b"phone/IMG_2.JPG", b"phone/IMG_2.MOV", 50)
    taken = group_samples.live_video(tmp_path / "taken.MOV", "2024:01:31 09:00:00", seed=6)
    originals |= shas(taken)
    taken.rename(storage["storage"] / DAY / "IMG_3.MOV")
    (tmp_path / "IMG_3.MOV").rename(inbox / "p2/IMG_3.MOV")
    run(pf_env, tmp_path)
    assert sorted(groups_of(database_url)) == [[("IMG_2_1.JPG", "still"), ("IMG_2_1.MOV", "video")],
                                               [("IMG_3.JPG", "still"), ("IMG_3_1.MOV", "video")]]
    invariants.check(database_url, inbox, storage["storage"], originals)


def test_a_corrupt_member_is_quarantined_and_the_rest_is_filed(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    originals = pair(inbox, b"a/IMG_5.JPG", b"a/IMG_5.MOV", 15, content_id="CUT-1")
    originals |= pair(inbox, b"b/IMG_6.JPG", b"b/IMG_6.MOV", 16)
    for victim in (inbox / "a/IMG_5.MOV", inbox / "b/IMG_6.JPG"):  # a cut video, a cut still
        data = victim.read_bytes()
        originals -= shas(victim)
        victim.write_bytes(data[: len(data) // 2])
        originals |= shas(victim)
    run(pf_env, tmp_path)
    assert groups_of(database_url) == []
    assert len(query(database_url, "SELECT id FROM quarantine")) == 2
    assert sorted(Path(r["library_path"]).name for r in query(database_url, "SELECT library_path FROM media_assets")) \
        == ["IMG_5.JPG", "IMG_6.MOV"]
    invariants.check(database_url, inbox, storage["storage"], originals)


