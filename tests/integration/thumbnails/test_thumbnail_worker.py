"""The thumbnail worker on real files, real ffmpeg/ExifTool and a real PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from PIL import Image

from photo_factory.worker import StageWorker
from processor.thumbnails import video
from processor.thumbnails.service import stage
from processor.thumbnails.settings import ThumbnailSettings
from processor.thumbnails.thumbnails import Thumbnailer
from tests.support import thumbnail_samples as samples

pytestmark = pytest.mark.integration

CFG = ThumbnailSettings(thumbnail_sizes="256,64", thumbnail_backoff_seconds=0)


def _thumb(storage, library_path: str, size: int = 256) -> Image.Image:
    rel = library_path.removeprefix("Library/")
    return Image.open(storage / "Derivatives" / "thumbnails" / str(size) / f"{rel}.jpg")


def test_a_video_poster_skips_the_black_intro(tmp_path):
    path = samples.video(tmp_path / "clip.mp4", black_seconds=1.0, seconds=3.0)
    frame = video.poster(path, 256)
    assert not video.looks_black(frame)
    assert frame.size == (256, 192)


def test_a_raw_file_uses_its_embedded_preview(tmp_path):
    samples.raw_with_preview(tmp_path / "Library" / "2024" / "IMG_9.DNG")
    asset = {"id": 1, "library_path": "Library/2024/IMG_9.DNG", "media_type": "raw"}
    images = Thumbnailer(tmp_path, CFG).images(asset)
    assert samples.upright_marker_ok(images[256])


def test_the_worker_thumbnails_photos_and_videos_and_fails_broken_files(database_url, tmp_path):
    photo = samples.insert_asset(database_url, tmp_path, "Library/2024/2024-05-01/IMG_1.HEIC",
                                 data=samples.heic())
    samples.video(tmp_path / "Library/2024/2024-05-01/IMG_1.MOV")
    clip = samples.insert_asset(database_url, tmp_path, "Library/2024/2024-05-01/IMG_1.MOV",
                                media_type="video")
    broken_bytes = samples.truncated_jpeg()
    broken = samples.insert_asset(database_url, tmp_path, "Library/2024/2024-05-01/BROKEN.JPG",
                                  data=broken_bytes)
    worker = StageWorker(stage(CFG), database_url, process=Thumbnailer(tmp_path, CFG).process)
    worker.run(once=True, heartbeat=False)

    assert samples.upright_marker_ok(_thumb(tmp_path, "Library/2024/2024-05-01/IMG_1.HEIC"))
    assert _thumb(tmp_path, "Library/2024/2024-05-01/IMG_1.HEIC", 64).size == (64, 43)
    assert not video.looks_black(_thumb(tmp_path, "Library/2024/2024-05-01/IMG_1.MOV").convert("RGB"))
    flags = dict(samples.query(database_url, "SELECT id, is_thumbnailed FROM media_assets"))
    assert flags == {photo: True, clip: True, broken: False}
    [(state, reason)] = samples.query(database_url, "SELECT state, reason_code FROM stage_jobs "
                                                    "WHERE asset_id = %s", (broken,))
    assert (state, reason) == ("failed", "truncated_file")
    original = tmp_path / "Library/2024/2024-05-01/BROKEN.JPG"
    assert hashlib.sha256(original.read_bytes()).digest() == hashlib.sha256(broken_bytes).digest()


def test_a_missing_original_is_retried_later_not_failed_at_once(database_url, tmp_path):
    asset = samples.insert_asset(database_url, tmp_path, "Library/2024/2024-05-01/GONE.JPG")
    cfg = ThumbnailSettings(thumbnail_backoff_seconds=600)
    worker = StageWorker(stage(cfg), database_url, process=Thumbnailer(tmp_path, cfg).process)
    worker.run(once=True, heartbeat=False)
    [(state, reason)] = samples.query(database_url, "SELECT state, reason_code FROM stage_jobs "
                                                    "WHERE asset_id = %s", (asset,))
    assert (state, reason) == ("pending", "missing_original")
