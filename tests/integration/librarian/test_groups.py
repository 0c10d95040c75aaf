"""Pairs and groups filed by the real ``photo-factory librarian --once`` (real ExifTool, Postgres):
the sample groups, one collision suffix for a group, members that arrive in later runs."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest

from tests.adversity.filing_support import query, run_librarian, tmpfs
from tests.support import group_samples, invariants

pytestmark = pytest.mark.integration
SAMPLES = Path(__file__).parents[2] / "samples" / "groups"
DAY = "Library/2024/2024-01-31"


def put(inbox: Path, *rels: str, under: str | None = None) -> set[str]:
    """Copy sample files into the inbox (keeping their folder, or into ``under``); their SHA-256."""
    out = set()
    for rel in rels:
        dest = inbox / (under or PurePosixPath(rel).parent) / PurePosixPath(rel).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / rel, dest)
        out.add(invariants.sha256(dest))
    return out


def grouped(database_url: str) -> dict[str, tuple[str, str, int] | None]:
    """{library_path: (kind, role, group id) or None}."""
    rows = query(database_url, "SELECT a.library_path, g.kind, a.group_role, a.group_id FROM media_assets a"
                               " LEFT JOIN asset_groups g ON g.id = a.group_id")
    return {r["library_path"]: (r["kind"], r["group_role"], r["group_id"]) if r["kind"] else None for r in rows}


@pytest.mark.parametrize("other_fs", [False, True], ids=["same-fs", "other-fs"])
def test_the_sample_groups_are_filed_as_groups_and_the_days_apart_pair_is_not(
        other_fs: bool, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    env, inbox = pf_env, storage["inbox"]
    if other_fs:
        mnt = tmp_path / "xdev"
        ctx = tmpfs(mnt)
        ctx.__enter__()
        inbox = mnt / "inbox"
        inbox.mkdir()
        env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
    try:
        shas = put(inbox, *group_samples.SET)
        assert run_librarian(env, tmp_path / "log") == 0, (tmp_path / "log").read_text()
    finally:
        if other_fs:
            ctx.__exit__(None, None, None)
    got = grouped(database_url)
    kinds = sorted({(v[0], v[2]) for v in got.values() if v}, key=lambda kv: kv[1])
    assert sorted(k for k, _ in kinds) == ["burst", "edit", "live_photo", "live_photo", "live_photo", "raw_jpeg"]
    assert got[f"{DAY}/IMG_0001.HEIC"][:2] == ("live_photo", "still")
    assert got[f"{DAY}/IMG_0001.MOV"][:2] == ("live_photo", "video")
    assert got[f"{DAY}/IMG_0001.MOV"][2] == got[f"{DAY}/IMG_0001.HEIC"][2]
    assert got[f"{DAY}/IMG_0003_HEVC.MOV"][:2] == ("live_photo", "video")
    assert got[f"{DAY}/IMG_0005.DNG"][:2] == ("raw_jpeg", "raw")
    assert got[f"{DAY}/IMG_E0006.JPG"][:2] == ("edit", "edited")
    assert got[f"{DAY}/IMG_0007.JPG"][:2] == ("burst", "primary")
    assert got[f"{DAY}/IMG_0004.JPG"] is None
    assert got["Library/2024/2024-02-05/IMG_0004.MOV"] is None
    key = query(database_url, "SELECT key FROM asset_groups WHERE key IS NOT NULL ORDER BY key")
    assert [r["key"] for r in key] == sorted([group_samples.BURST_ID, group_samples.CONTENT_ID])
    invariants.check(database_url, inbox, storage["storage"], shas)


def test_a_group_takes_one_collision_suffix_when_only_one_member_name_is_taken(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    # an unrelated video already filed as IMG_0002.MOV on that day
    shas = put(inbox, "days_apart/IMG_0004.MOV", under="x")
    (inbox / "x/IMG_0004.MOV").rename(inbox / "x/IMG_0002.MOV")
    lib = storage["storage"] / DAY
    lib.mkdir(parents=True)
    assert run_librarian(pf_env, tmp_path / "log") == 0
    other = query(database_url, "SELECT library_path FROM media_assets")[0]["library_path"]
    shutil.move(storage["storage"] / other, lib / "IMG_0002.MOV")
    query(database_url, "UPDATE media_assets SET library_path = %s", f"{DAY}/IMG_0002.MOV")
    shas |= put(inbox, "live_no_id/IMG_0002.JPG", "live_no_id/IMG_0002.MOV")
    assert run_librarian(pf_env, tmp_path / "log") == 0, (tmp_path / "log").read_text()
    got = grouped(database_url)
    assert got[f"{DAY}/IMG_0002_1.JPG"][:2] == ("live_photo", "still")
    assert got[f"{DAY}/IMG_0002_1.MOV"][:2] == ("live_photo", "video")
    assert got[f"{DAY}/IMG_0002.MOV"] is None
    invariants.check(database_url, inbox, storage["storage"], shas)


@pytest.mark.parametrize("first", ["still", "video"])
def test_a_member_arriving_in_a_later_run_joins_the_group_with_its_folder_and_suffix(
        first: str, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = storage["inbox"]
    lib = storage["storage"] / DAY
    lib.mkdir(parents=True)
    still, video = "live_with_id/IMG_0001.HEIC", "live_with_id/IMG_0001.MOV"
    a, b = (still, video) if first == "still" else (video, still)
    # a stray file takes the first member's name only: it is filed as _1, and the late one must
    # follow it to _1 although its own plain name is free
    (lib / PurePosixPath(a).name).write_bytes(b"not ours")
    shas = put(inbox, a)
    assert run_librarian(pf_env, tmp_path / "log") == 0
    assert all(v is None for v in grouped(database_url).values())
    shas |= put(inbox, b, under="later")  # another inbox folder: the identifier pairs them
    assert run_librarian(pf_env, tmp_path / "log") == 0, (tmp_path / "log").read_text()
    got = grouped(database_url)
    assert got[f"{DAY}/IMG_0001_1.HEIC"][:2] == ("live_photo", "still")
    assert got[f"{DAY}/IMG_0001_1.MOV"][:2] == ("live_photo", "video")
    assert not (lib / PurePosixPath(b).name).exists()
    (lib / PurePosixPath(a).name).unlink()
    query(database_url, "DELETE FROM media_assets WHERE library_path = %s", f"{DAY}/{PurePosixPath(a).name}")
    invariants.check(database_url, inbox, storage["storage"], shas)
