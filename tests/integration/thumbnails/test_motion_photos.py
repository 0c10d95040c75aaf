"""Motion photos in the thumbnails stage, on real files, real ffmpeg/ffprobe/ExifTool and a real
PostgreSQL: the embedded video extracted unchanged (ExifTool agrees), probed, given a poster and
linked; the original untouched; a promise without its video recorded, never a failure; a hung
probe retried by the engine; a rebuild or a restore recreates a missing video."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from photo_factory.worker import StageWorker
from processor.backup import restore
from processor.backup.store import RestoreStore
from processor.thumbnails.motion import MotionPhotos
from processor.thumbnails.service import stage
from processor.thumbnails.settings import ThumbnailSettings
from processor.thumbnails.store import ThumbnailStore
from processor.thumbnails.thumbnails import Thumbnailer
from tests.support import motion_samples as ms
from tests.support import thumbnail_samples as samples

pytestmark = pytest.mark.integration

CFG = ThumbnailSettings(thumbnail_sizes="256,64", thumbnail_backoff_seconds=0)
VIDEO = (ms.SAMPLES / "motion.mp4").read_bytes()
DAY = "Library/2024/2024-05-01"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_worker(database_url: str, storage: Path, cfg: ThumbnailSettings = CFG) -> None:
    the_stage = stage(cfg)
    store = ThumbnailStore(database_url, the_stage)
    try:
        thumbnailer = Thumbnailer(storage, cfg, MotionPhotos(storage, cfg, store))
        thumbnailer.sweep()
        StageWorker(the_stage, database_url, process=thumbnailer.process).run(once=True, heartbeat=False)
    finally:
        store.close()


def rows(database_url: str) -> dict[str, dict]:
    out = {}
    for name, motion_video, entry, problem, done in samples.query(
            database_url, "SELECT original_name, motion_video, metadata->'PF:MotionPhoto', motion_problem,"
                          " is_thumbnailed FROM media_assets"):
        out[name] = {"motion_video": motion_video, "entry": entry, "problem": problem, "done": done}
    return out


def exiftool_video(path: Path, tag: str) -> bytes:
    return subprocess.run(["exiftool", "-b", f"-{tag}", "--", str(path)], capture_output=True, check=True,
                          timeout=60).stdout


def test_google_samsung_microvideo_and_heic_videos_are_extracted_unchanged(database_url, tmp_path):
    inputs = {f"{name}": (ms.SAMPLES / name).read_bytes() for name in
              ("PXL_20240501_101010123.MP.jpg", "MVIMG_20190806_183324.jpg", "20240502_121314_samsung.jpg",
               "PXL_20240504_090000000.MP.wrong_offset.jpg")}
    inputs["IMG_0001.HEIC"] = ms.heic(VIDEO)
    before = {}
    for name, data in inputs.items():
        samples.insert_asset(database_url, tmp_path, f"{DAY}/{name}", data=data)
        before[name] = sha(tmp_path / DAY / name)
    run_worker(database_url, tmp_path)

    found = rows(database_url)
    for name in inputs:
        row = found[name]
        assert row["done"] and row["problem"] is None, (name, row)
        assert row["motion_video"] == f"Derivatives/motion/2024/2024-05-01/{name}.mp4"
        video = tmp_path / row["motion_video"]
        assert video.read_bytes() == VIDEO, name  # byte for byte
        assert (tmp_path / f"{row['motion_video']}.jpg").stat().st_size > 0  # the poster
        assert row["entry"]["codec"] == "h264" and row["entry"]["width"] == 64, row["entry"]
        assert sha(tmp_path / DAY / name) == before[name], f"{name}: the original changed"
    assert "wrong" in found["PXL_20240504_090000000.MP.wrong_offset.jpg"]["entry"]["note"]
    # ExifTool, read independently, gives the same bytes
    assert exiftool_video(tmp_path / DAY / "20240502_121314_samsung.jpg", "EmbeddedVideoFile") == VIDEO
    assert exiftool_video(tmp_path / DAY / "IMG_0001.HEIC", "MotionPhotoVideo") == VIDEO
    assert not list((tmp_path / "Derivatives" / "motion" / ".tmp").iterdir())


def test_a_promised_video_that_is_not_there_is_recorded_and_the_photo_keeps_its_thumbnails(database_url, tmp_path):
    broken = {
        "PROMISE.MP.jpg": (ms.SAMPLES / "PXL_20240503_090000000.MP.promise_without_video.jpg").read_bytes(),
        "JUNK.MP.jpg": ms.google(b"\x00\x00\x00\x10junkjunkjunkjunk" * 40),
        # an ftyp box the probe refuses: no moov, nothing playable
        "NOMOOV.MP.jpg": ms.google(VIDEO[:32] + b"\x00" * 200),
        "ZERO.MP.jpg": ms.google(b"", length=0),
    }
    for name, data in broken.items():
        samples.insert_asset(database_url, tmp_path, f"{DAY}/{name}", data=data)
    run_worker(database_url, tmp_path)
    found = rows(database_url)
    assert {n: r["problem"] for n, r in found.items()} == {
        "PROMISE.MP.jpg": "video_missing", "JUNK.MP.jpg": "not_mp4", "NOMOOV.MP.jpg": "unplayable",
        "ZERO.MP.jpg": "empty_video"}
    for name, row in found.items():
        assert row["done"] and row["motion_video"] is None and row["entry"]["detail"], (name, row)
        assert (tmp_path / "Derivatives/thumbnails/256/2024/2024-05-01" / f"{name}.jpg").is_file()
    assert samples.query(database_url, "SELECT count(*) FROM stage_jobs") == [(0,)]
    assert not list((tmp_path / "Derivatives" / "motion").rglob("*.mp4"))


def test_a_rebuild_and_a_restore_recreate_a_missing_motion_video(database_url, tmp_path):
    name = "PXL_20240501_101010123.MP.jpg"
    asset = samples.insert_asset(database_url, tmp_path, f"{DAY}/{name}", data=(ms.SAMPLES / name).read_bytes())
    run_worker(database_url, tmp_path)
    video = tmp_path / f"Derivatives/motion/2024/2024-05-01/{name}.mp4"
    assert video.read_bytes() == VIDEO

    video.unlink()
    store = ThumbnailStore(database_url, stage(CFG))
    assert store.request_rebuild() == 1
    store.close()
    run_worker(database_url, tmp_path)
    assert video.read_bytes() == VIDEO

    video.unlink()  # a restore onto a new disk: thumbnails restored (or rebuilt), the video not
    restore_store = RestoreStore(database_url)
    try:
        os.environ["PF_THUMBNAIL_SIZES"] = "256,64"
        assert restore.queue_missing_thumbnails(restore_store, tmp_path) == 1
    finally:
        os.environ.pop("PF_THUMBNAIL_SIZES", None)
        restore_store.close()
    assert samples.query(database_url, "SELECT is_thumbnailed FROM media_assets WHERE id = %s", (asset,)) == [(False,)]
    run_worker(database_url, tmp_path)
    assert video.read_bytes() == VIDEO


def test_a_hung_probe_is_retried_by_the_engine_then_failed_with_its_reason(database_url, tmp_path):
    hung = tmp_path / "bin" / "ffprobe"
    hung.parent.mkdir()
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    cfg = ThumbnailSettings(thumbnail_sizes="64", thumbnail_backoff_seconds=0, thumbnail_max_attempts=2,
                            thumbnail_ffprobe=str(hung), thumbnail_tool_timeout_seconds=1)
    name = "PXL_20240501_101010123.MP.jpg"
    asset = samples.insert_asset(database_url, tmp_path, f"{DAY}/{name}", data=(ms.SAMPLES / name).read_bytes())
    run_worker(database_url, tmp_path, cfg)
    [(state, reason, attempts)] = samples.query(
        database_url, "SELECT state, reason_code, attempts FROM stage_jobs WHERE asset_id = %s", (asset,))
    assert (state, reason, attempts) == ("failed", "tool_timeout", 2)
    assert rows(database_url)[name]["motion_video"] is None
    assert [p for p in (tmp_path / "Derivatives").rglob("*") if p.name.startswith(".tmp-")] == []
    # the probe works again: --retry-failed, and the video is there
    store = ThumbnailStore(database_url, stage(CFG))
    assert store.retry_failed() == 1
    store.close()
    run_worker(database_url, tmp_path)
    assert (tmp_path / f"Derivatives/motion/2024/2024-05-01/{name}.mp4").read_bytes() == VIDEO


def test_a_still_that_fails_for_good_still_gives_its_video_and_fails_with_its_own_reason(database_url, tmp_path):
    cfg = ThumbnailSettings(thumbnail_sizes="256,64", thumbnail_max_pixels=1000)  # 64x48 is a "bomb" here
    name = "PXL_20240501_101010123.MP.jpg"
    asset = samples.insert_asset(database_url, tmp_path, f"{DAY}/{name}", data=(ms.SAMPLES / name).read_bytes())
    run_worker(database_url, tmp_path, cfg)
    [(state, reason)] = samples.query(database_url, "SELECT state, reason_code FROM stage_jobs WHERE asset_id = %s",
                                      (asset,))
    assert (state, reason) == ("failed", "decompression_bomb")
    assert (tmp_path / rows(database_url)[name]["motion_video"]).read_bytes() == VIDEO
