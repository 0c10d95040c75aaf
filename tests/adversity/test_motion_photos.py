"""Motion photos from a careless or hostile world, through the real ``photo-factory librarian
--once`` and ``photo-factory thumbnails --once``: every motion photo is filed as a photo (never
quarantined for its video), its video extracted byte for byte when it is there, the reason
recorded when it is not — whatever the offsets, trailers and names say — and nothing is lost
(:func:`tests.support.invariants.check`, which also checks that every linked motion video exists
and no unlinked one is left)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from tests.support import invariants
from tests.support import motion_samples as ms

CLI = str(Path(sys.executable).with_name("photo-factory"))
VIDEO = (ms.SAMPLES / "motion.mp4").read_bytes()

#: Names a tool could read as an option, a protocol, a pipe or a line break; one at the byte limit.
NAMES = [b"-i.MP.jpg", b"concat:a|b.MP.jpg", b"x\n-Directory=pfmoved\ny.jpg", b"\xff\xfe not utf-8.MP.jpg",
         "日本語の動く写真.MP.jpg".encode(), b"file:..%2F..%2Fescape.jpg", b"a" * 236 + b".jpg"]


def _cases() -> dict[bytes, tuple[bytes, str | None]]:
    """Inbox name -> (content, expected motion_problem; None: the video is extracted)."""
    google = (ms.SAMPLES / "PXL_20240501_101010123.MP.jpg").read_bytes()
    cases: dict[bytes, tuple[bytes, str | None]] = {}
    for i, name in enumerate(NAMES):  # the same video behind a different still each time
        cases[name] = (ms.google(VIDEO, still=ms.jpeg(80 + i, 48)), None)
    cases[b"PXL_ok.MP.jpg"] = (google, None)
    cases[b"samsung.jpg"] = ((ms.SAMPLES / "20240502_121314_samsung.jpg").read_bytes(), None)
    cases[b"IMG_0001.HEIC"] = (ms.heic(VIDEO), None)
    sef = ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", VIDEO)])
    cases[b"samsung.heic"] = (ms.heic(None, width=66) + sef, None)
    cases[b"MVIMG_huge.jpg"] = (ms.microvideo(b"", offset=2**63), "video_missing")
    cases[b"MVIMG_negative.jpg"] = (ms.microvideo(b"\x01" * 64, offset=-5), "bad_offset")
    cases[b"MVIMG_words.jpg"] = (ms.microvideo(b"junk" * 16, offset="twelve"), "bad_offset")
    cases[b"PXL_not_mp4.MP.jpg"] = (ms.google(b"PK\x03\x04" + b"zip!" * 64), "not_mp4")
    cases[b"PXL_zero.MP.jpg"] = (ms.google(b"", length=0), "empty_video")
    cases[b"PXL_missing.MP.jpg"] = (ms.with_xmp(ms.jpeg(70, 50), ms.xmp_container(4096)), "video_missing")
    cases[b"samsung_not_mp4.jpg"] = (ms.jpeg(72, 50) + ms.samsung_trailer(
        [(0x0A30, b"MotionPhoto_Data", b"\x00\x00\x00\x08free" * 8)]), "not_mp4")
    cases[b"samsung_outside.jpg"] = (ms.jpeg(74, 50) + b"SEFH" + struct.pack("<II", 106, 1)
                                     + struct.pack("<HHII", 0, 0x0A30, 2**31, 77) + struct.pack("<I", 24)
                                     + b"SEFT", "bad_offset")
    return cases


def _rows(database_url: str) -> dict[str, tuple]:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT sha256, library_path, motion_video, motion_problem, is_thumbnailed "
                        "FROM media_assets")
            return {r[0].strip(): r[1:] for r in cur.fetchall()}
    finally:
        conn.close()


def _run(env: dict[str, str], cwd: Path, *args: str) -> None:
    proc = subprocess.run([CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_motion_photos_with_any_offset_trailer_or_name_are_filed_and_their_videos_extracted_or_explained(
        pf_env, storage, database_url, tmp_path):
    inbox, root = storage["inbox"], storage["storage"]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    cases = _cases()
    originals = set()
    for name, (data, _) in cases.items():
        with open(os.path.join(os.fsencode(inbox), name), "wb") as f:
            f.write(data)
        originals.add(hashlib.sha256(data).hexdigest())
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.2", "PF_THUMBNAIL_SIZES": "64"}
    _run(env, cwd, "librarian", "--once")
    filed = {p for p in invariants.files(root / "Library")}
    _run(env, cwd, "thumbnails", "--once")
    _run(env, cwd, "thumbnails", "--once")  # a second run changes nothing

    rows = _rows(database_url)
    assert len(rows) == len(cases), "a motion photo was not filed as a photo"
    for name, (data, problem) in cases.items():
        lib, motion_video, got_problem, done = rows[hashlib.sha256(data).hexdigest()]
        assert done and got_problem == problem, (name, got_problem)
        if problem is None:
            assert (root / motion_video).read_bytes() == VIDEO, name
            assert motion_video == "Derivatives/motion/" + lib.removeprefix("Library/") + ".mp4"
        else:
            assert motion_video is None
    assert {p for p in invariants.files(root / "Library")} == filed
    assert os.listdir(cwd) == []
    invariants.check(database_url, inbox, root, originals)


def test_a_worker_killed_while_its_video_is_probed_leaves_no_half_video_and_the_next_one_finishes(
        pf_env, storage, database_url, tmp_path):
    inbox, root = storage["inbox"], storage["storage"]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = (ms.SAMPLES / "PXL_20240501_101010123.MP.jpg").read_bytes()
    (inbox / "PXL_20240501_101010123.MP.jpg").write_bytes(data)
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.2", "PF_THUMBNAIL_SIZES": "64", "PF_THUMBNAIL_LEASE_SECONDS": "2"}
    _run(env, cwd, "librarian", "--once")
    marker = tmp_path / "probe.pid"
    stall = tmp_path / "stalling-ffprobe"
    stall.write_text(f"#!/bin/sh\necho $$ > '{marker}'\nexec sleep 120\n")
    stall.chmod(0o755)
    proc = subprocess.Popen([CLI, "thumbnails", "--once"], env={**env, "PF_THUMBNAIL_FFPROBE": str(stall)}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (marker.is_file() and marker.read_text().strip()) and proc.poll() is None:
            assert time.monotonic() < deadline, "the probe never started"
            time.sleep(0.05)
        tmp = [p for p in invariants.files(root / "Derivatives" / "motion") if p.name.startswith(".tmp-")]
        assert len(tmp) == 1 and tmp[0].read_bytes() == VIDEO  # written and synced, waiting for the probe
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker, in the middle of the check
        if marker.is_file() and marker.read_text().strip():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(marker.read_text()), signal.SIGKILL)  # the probe (its own session)
        proc.wait(timeout=30)
    assert not list((root / "Derivatives" / "motion").rglob("*.mp4")), "a video went live before its probe"

    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:  # every worker is dead: age its lease instead of waiting
        cur.execute("UPDATE stage_workers SET last_seen = now() - interval '1 day'")
    conn.close()
    _run(env, cwd, "thumbnails", "--once")
    [(lib, motion_video, problem, done)] = _rows(database_url).values()
    assert done and problem is None
    assert (root / motion_video).read_bytes() == VIDEO
    invariants.check(database_url, inbox, root, {hashlib.sha256(data).hexdigest()})


def test_a_motion_photo_cut_in_its_video_is_filed_as_its_whole_photo_after_the_wait(
        pf_env, storage, database_url, tmp_path):
    """The grace period still protects a file being written; once it is over, a motion photo
    whose image is whole and whose video is cut is the photo (the video's fate recorded), while
    a cut image or a cut video file stays ``truncated`` in quarantine."""
    inbox, root = storage["inbox"], storage["storage"]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    google = (ms.SAMPLES / "PXL_20240501_101010123.MP.jpg").read_bytes()
    still = ms.jpeg(90, 60)
    inputs = {
        b"PXL_cut.MP.jpg": google[:len(google) - len(VIDEO) // 2],  # cut in the video's mdat
        b"PXL_nomoov.MP.jpg": ms.google(VIDEO[:32] + b"\x00" * 64, still=ms.jpeg(92, 60)),  # an index never written
        b"cut_image.jpg": still[:len(still) // 2],
        b"cut_clip.mp4": VIDEO[:len(VIDEO) // 2],
    }
    originals = set()
    for name, data in inputs.items():
        with open(os.path.join(os.fsencode(inbox), name), "wb") as f:
            f.write(data)
        originals.add(hashlib.sha256(data).hexdigest())
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.2", "PF_THUMBNAIL_SIZES": "64"}
    _run(env, cwd, "librarian", "--once")
    _run(env, cwd, "thumbnails", "--once")
    rows = _rows(database_url)
    problems = {name: rows[hashlib.sha256(data).hexdigest()][2] for name, data in inputs.items()
                if hashlib.sha256(data).hexdigest() in rows}
    assert problems == {b"PXL_cut.MP.jpg": "truncated_video", b"PXL_nomoov.MP.jpg": "unplayable"}
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT original_name, reason FROM quarantine ORDER BY original_name")
        assert cur.fetchall() == [("cut_clip.mp4", "truncated"), ("cut_image.jpg", "truncated")]
    conn.close()
    invariants.check(database_url, inbox, root, originals)
