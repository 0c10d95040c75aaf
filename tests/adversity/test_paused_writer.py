"""A writer that pauses longer than the quiet period: the half-written file must wait, never be taken.

Writers keep their file open across the pause (a slow SMB/NFS copy, a phone app flushing in
bursts). The librarian must notice that the file's structure ends early, leave it in the inbox
(reported in its heartbeat), take it whole once the writer finished, and quarantine it as
``truncated`` only when it stays incomplete for the grace period. Same filesystem and across
devices (a tmpfs inbox: the cross-device copy used to file half a video and lose the rest).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import invariants, samples
from tests.support.thumbnail_samples import query

CLI = str(Path(sys.executable).with_name("photo-factory"))

pytestmark = pytest.mark.slow


@pytest.fixture(params=["same_filesystem", "tmpfs_inbox"])
def inbox(request: pytest.FixtureRequest, storage: dict[str, Path]) -> Iterator[Path]:
    path = storage["inbox"]
    if request.param == "tmpfs_inbox":
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs inbox (needs root): {done.stderr.strip()}")
        yield path
        subprocess.run(["umount", "-l", str(path)], check=False)
        return
    yield path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small real files: videos from ffmpeg, a JPEG with EXIF, a HEIC from pillow-heif."""
    d = tmp_path_factory.mktemp("media")
    return {
        "clip.mp4": samples.video(d / "clip.mp4", seconds=2.0, size="320x240").read_bytes(),
        "clip.mov": samples.video(d / "clip.mov", seconds=2.0, size="320x240").read_bytes(),
        "photo.jpg": samples.photo(d / "photo.jpg", size=(640, 480), seed=3).read_bytes(),
        "photo.heic": samples.image(d / "photo.heic", size=(640, 480), seed=4).read_bytes(),
    }


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _wait(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _heartbeat(database_url: str) -> tuple[str, dict]:
    rows = query(database_url, "SELECT message, details FROM system_status WHERE service = 'librarian'")
    return (rows[0][0], rows[0][1]) if rows else ("", {})


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([CLI, "librarian"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the librarian did not stop on SIGTERM") from None


def _env(pf_env: dict[str, str], grace: float) -> dict[str, str]:
    return {**pf_env, "PF_STABILITY_SECONDS": "0.5", "PF_RESCAN_SECONDS": "1", "PF_POLL_SECONDS": "0.2",
            "PF_LIBRARIAN_HEARTBEAT_SECONDS": "0.5", "PF_INCOMPLETE_GRACE_SECONDS": str(grace)}


def test_a_paused_writer_s_file_waits_and_is_filed_whole(pf_env, inbox, storage, database_url, media):
    resume = threading.Event()
    errors: list[BaseException] = []

    def writer(name: str, data: bytes) -> None:
        try:
            with open(inbox / name, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
                resume.wait(timeout=120)  # paused far longer than the quiet period
                f.write(data[len(data) // 2:])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    proc = _start(_env(pf_env, grace=3600))
    threads = [threading.Thread(target=writer, args=item) for item in media.items()]
    try:
        for t in threads:
            t.start()
        # every half-written file is seen, reported as incomplete, and left alone
        taken = "SELECT original_name FROM media_assets UNION ALL SELECT original_name FROM quarantine"
        _wait(lambda: query(database_url, taken)
              or (_heartbeat(database_url)[1].get("incomplete_waiting") or 0) >= len(media), 90,
              "the heartbeat to report every half-written file as waiting")
        assert query(database_url, taken) == [], "a half-written file was taken"
        message, details = _heartbeat(database_url)
        assert "incomplete" in message
        assert {f["path"] for f in details["incomplete_files"]} == set(media)
        resume.set()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        _wait(lambda: query(database_url, "SELECT count(*) FROM media_assets")[0][0] == len(media), 120,
              "every file to be filed once written")
        _wait(lambda: _heartbeat(database_url)[1].get("incomplete_waiting") == 0, 30, "the waiting list to empty")
    finally:
        resume.set()
        _stop(proc)
    filed = dict(query(database_url, "SELECT original_name, sha256 FROM media_assets"))
    assert filed == {name: _sha(data) for name, data in media.items()}
    assert query(database_url, "SELECT count(*) FROM quarantine")[0][0] == 0
    invariants.check(database_url, inbox, storage["storage"], {_sha(d) for d in media.values()})


def test_a_file_that_stays_incomplete_is_quarantined_as_truncated_after_the_grace(
        pf_env, inbox, storage, database_url, media):
    halves = {name: data[: len(data) // 2] for name, data in media.items() if name != "photo.jpg"}
    for name, data in halves.items():
        (inbox / name).write_bytes(data)

    # --once does not wait out the grace: the files stay in the inbox, reported, and it exits 0
    once = subprocess.run([CLI, "librarian", "--once"], env=_env(pf_env, grace=3600), capture_output=True,
                          text=True, timeout=300, check=False)
    assert once.returncode == 0, once.stderr[-2000:]
    assert sorted(p.name for p in inbox.iterdir()) == sorted(halves), "an incomplete file was taken"
    assert "waiting for the rest" in once.stdout
    assert "3 incomplete" in _heartbeat(database_url)[0]

    proc = _start(_env(pf_env, grace=2))
    try:
        _wait(lambda: query(database_url, "SELECT count(*) FROM quarantine")[0][0] == len(halves), 120,
              "the incomplete files to be quarantined after their grace period")
    finally:
        _stop(proc)
    reasons = dict(query(database_url, "SELECT original_name, reason FROM quarantine"))
    assert reasons == dict.fromkeys(halves, "truncated")
    assert query(database_url, "SELECT count(*) FROM media_assets")[0][0] == 0
    invariants.check(database_url, inbox, storage["storage"], {_sha(d) for d in halves.values()})


def _cut_points(data: bytes, seed: int) -> list[int]:
    """Boundaries a writer is likely to pause at (top-level boxes/segments) plus random offsets."""
    import random

    rng = random.Random(seed)
    points = {16, 100, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1}
    for marker in (b"moov", b"mdat", b"meta", b"\xff\xda", b"IDAT", b"IEND"):
        at = data.find(marker)
        if at > 8:
            points.update({at - 4, at + 4})
    points.update(rng.randrange(1, len(data)) for _ in range(4))
    return sorted(p for p in points if 0 < p < len(data))


def test_files_cut_anywhere_are_never_filed_and_whole_ones_always_are(pf_env, storage, database_url, media):
    inbox = storage["inbox"]
    originals: set[str] = set()
    cuts: dict[str, int] = {}
    for i, (name, data) in enumerate(media.items()):
        stem, ext = name.rsplit(".", 1)
        (inbox / name).write_bytes(data)
        originals.add(_sha(data))
        for at in _cut_points(data, i):
            cut = inbox / f"{stem}-cut{at}.{ext}"
            cut.write_bytes(data[:at])
            cuts[cut.name] = at
            originals.add(_sha(data[:at]))
    once = subprocess.run([CLI, "librarian", "--once"], env=_env(pf_env, grace=0), capture_output=True,
                          text=True, timeout=600, check=False)
    assert once.returncode == 0, once.stderr[-2000:]
    filed = {r[0] for r in query(database_url, "SELECT original_name FROM media_assets")}
    assert filed == set(media), f"cut files filed as good: {sorted(filed - set(media))}"
    reasons = dict(query(database_url, "SELECT original_name, reason FROM quarantine"))
    assert set(reasons) == set(cuts)
    # only a stump too short to tell its type is "unsupported"; everything else is "truncated"
    odd = {n: r for n, r in reasons.items() if r != "truncated" and not (r == "unsupported_type" and cuts[n] <= 16)}
    assert odd == {}, odd
    invariants.check(database_url, inbox, storage["storage"], originals)
