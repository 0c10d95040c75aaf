"""A worker's ``on_idle`` (the thumbnailer gives back the image buffers it keeps between items)
runs when the queue runs dry after work: once per busy spell, after its last item, never while
items are still due, never on an idle worker's every poll."""

from __future__ import annotations

import threading
import time

import pytest

from photo_factory.worker import Stage, StageWorker
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

STAGE = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=2, max_attempts=3, poll_s=0.05)


def _assets(database_url: str, first: int, n: int) -> None:
    """``n`` new assets waiting for thumbnails (numbered from ``first``)."""
    query(database_url, """
        WITH new AS (
          INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,
                                    captured_local, capture_date, date_source, tz_source)
          SELECT md5(i::text) || md5((-i)::text), 'Library/2024/2024-05-01/IMG_' || i || '.JPG',
                 'IMG_' || i || '.JPG', 1000, 'image', '2024-05-01 12:00', '2024-05-01', 'test', 'test'
            FROM generate_series(%s, %s) AS i RETURNING id)
        INSERT INTO stage_jobs (asset_id, stage) SELECT id, 'thumbnails' FROM new""", (first, first + n - 1))


def test_on_idle_runs_once_when_the_queue_runs_dry_after_work(database_url):
    _assets(database_url, 1, 5)
    events: list[str] = []

    def process(asset: dict) -> None:
        events.append("item")

    worker = StageWorker(STAGE, database_url, process=process, on_idle=lambda: events.append("idle"))
    worker._last_recover = float("inf")
    runner = threading.Thread(target=worker.run, kwargs={"heartbeat": False, "db_wait_seconds": 5})
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while "idle" not in events and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # ~10 more idle polls: none calls it again
        assert events == ["item"] * 5 + ["idle"]
        _assets(database_url, 6, 2)  # a second busy spell: one more call after its items
        worker.stopper.wake.set()
        deadline = time.monotonic() + 30
        while events.count("idle") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events == ["item"] * 5 + ["idle"] + ["item"] * 2 + ["idle"]
    finally:
        worker.stopper.stop.set()
        worker.stopper.wake.set()
        runner.join(30)
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE NOT is_thumbnailed") == [(0,)]


def test_an_idle_hook_that_fails_is_logged_and_the_worker_goes_on(database_url, caplog):
    _assets(database_url, 1, 2)
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("hook broke")

    worker = StageWorker(STAGE, database_url, process=lambda asset: None, on_idle=broken)
    worker._last_recover = float("inf")
    runner = threading.Thread(target=worker.run, kwargs={"heartbeat": False, "db_wait_seconds": 5})
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        _assets(database_url, 3, 2)  # still working after the failed hook
        worker.stopper.wake.set()
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runner.is_alive() and len(calls) == 2
    finally:
        worker.stopper.stop.set()
        worker.stopper.wake.set()
        runner.join(30)
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE NOT is_thumbnailed") == [(0,)]
    assert "the idle hook failed" in caplog.text
