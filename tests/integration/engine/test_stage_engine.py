"""The stage engine against a real PostgreSQL: claims, outcomes, retries, recovery, wake-ups."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import pytest

from photo_factory.worker import ItemError, Stage, StageWorker, queue_depth, reset_failed
from tests.support.thumbnail_samples import insert_asset, query

pytestmark = pytest.mark.integration

STAGE = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=5, backoff_base_s=0.0)


def _assets(database_url: str, tmp_path: Path, n: int, **cols: object) -> list[int]:
    return [insert_asset(database_url, tmp_path, **cols) for _ in range(n)]


def _flags(database_url: str, flag: str = "is_thumbnailed") -> dict[int, bool]:
    return dict(query(database_url, f"SELECT id, {flag} FROM media_assets"))


def _job(database_url: str, asset_id: int) -> dict | None:
    rows = query(database_url, "SELECT state, attempts, reason_code, last_error FROM stage_jobs "
                               "WHERE asset_id = %s", (asset_id,))
    if not rows:
        return None
    return dict(zip(("state", "attempts", "reason_code", "last_error"), rows[0], strict=True))


def _run_once(database_url: str, stage: Stage = STAGE, **kw: object) -> StageWorker:
    worker = StageWorker(stage, database_url, **kw)
    worker.run(once=True, heartbeat=False)
    return worker


def test_it_processes_every_pending_asset_and_sets_its_flag(database_url, tmp_path):
    ids = _assets(database_url, tmp_path, 12)
    seen: list[int] = []
    worker = _run_once(database_url, process=lambda a: seen.append(a["id"]))
    assert sorted(seen) == ids
    assert all(_flags(database_url).values())
    assert worker.stats.done == 12
    assert query(database_url, "SELECT count(*) FROM stage_jobs") == [(0,)]


def test_four_workers_share_a_queue_without_doing_anything_twice(database_url, tmp_path):
    ids = _assets(database_url, tmp_path, 300)
    counts: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def process(asset: dict) -> None:
        with lock:
            counts[asset["id"]] += 1

    workers = [StageWorker(STAGE, database_url, process=process) for _ in range(4)]
    threads = [threading.Thread(target=w.run, kwargs={"once": True, "heartbeat": False}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}
    assert sum(w.stats.done for w in workers) == 300
    assert all(_flags(database_url).values())


def test_a_permanent_error_fails_at_once_with_its_reason_and_can_be_retried(database_url, tmp_path):
    good, bad = _assets(database_url, tmp_path, 2)

    def process(asset: dict) -> None:
        if asset["id"] == bad:
            raise ItemError("corrupt_file", "cannot decode", retryable=False)

    _run_once(database_url, process=process)
    assert _flags(database_url) == {good: True, bad: False}
    assert _job(database_url, bad) == {"state": "failed", "attempts": 1, "reason_code": "corrupt_file",
                                       "last_error": "cannot decode"}
    assert queue_depth(STAGE, database_url)["failed"] == 1

    assert reset_failed(STAGE, database_url, [bad]) == 1
    assert _job(database_url, bad)["state"] == "pending"
    _run_once(database_url, process=lambda a: None)
    assert _flags(database_url) == {good: True, bad: True}
    assert _job(database_url, bad) is None


def test_retryable_errors_count_attempts_and_fail_after_the_last_one(database_url, tmp_path):
    [asset] = _assets(database_url, tmp_path, 1)
    stage = Stage(name="thumbnails", flag="is_thumbnailed", max_attempts=3, backoff_base_s=0.0)
    calls: list[int] = []

    def process(a: dict) -> None:
        calls.append(a["stage_attempts"])
        raise ItemError("remote_busy", "try later", retryable=True)

    worker = _run_once(database_url, stage, process=process)
    assert calls == [1, 2, 3]
    assert _job(database_url, asset)["state"] == "failed"
    assert worker.stats.retried == 2 and worker.stats.failed == 1


def test_a_retryable_error_backs_off_so_once_does_not_loop(database_url, tmp_path):
    [asset] = _assets(database_url, tmp_path, 1)
    stage = Stage(name="thumbnails", flag="is_thumbnailed", backoff_base_s=600.0)
    calls: list[int] = []

    def process(a: dict) -> None:
        calls.append(a["id"])
        raise RuntimeError("boom")

    _run_once(database_url, stage, process=process)
    assert calls == [asset]
    job = _job(database_url, asset)
    assert (job["state"], job["reason_code"]) == ("pending", "internal_error")
    assert "RuntimeError: boom" in job["last_error"]
    [(later,)] = query(database_url, "SELECT not_before > now() + interval '5 minutes' FROM stage_jobs")
    assert later
    assert queue_depth(STAGE, database_url)["backing_off"] == 1


def test_a_claim_held_by_a_dead_or_hung_worker_goes_back_to_pending(database_url, tmp_path):
    dead, hung = _assets(database_url, tmp_path, 2)
    query(database_url, "INSERT INTO stage_workers (worker_id, stage, host, pid) "
                        "VALUES ('alive', 'thumbnails', 'h', 1)")
    query(database_url, "INSERT INTO stage_jobs (asset_id, stage, state, attempts, claimed_by, claimed_at) "
                        "VALUES (%s, 'thumbnails', 'claimed', 1, 'ghost', now()), "
                        "       (%s, 'thumbnails', 'claimed', 1, 'alive', now() - interval '2 hours')",
          (dead, hung))
    seen: list[int] = []
    worker = _run_once(database_url, process=lambda a: seen.append(a["id"]))
    assert sorted(seen) == [dead, hung]
    assert worker.stats.recovered == 2
    assert all(_flags(database_url).values())


def test_a_file_that_keeps_killing_its_worker_ends_failed_as_worker_lost(database_url, tmp_path):
    [asset] = _assets(database_url, tmp_path, 1)
    query(database_url, "INSERT INTO stage_jobs (asset_id, stage, state, attempts, claimed_by, claimed_at, "
                        "started_at) VALUES (%s, 'thumbnails', 'claimed', 5, 'ghost', now(), now())", (asset,))
    _run_once(database_url, process=lambda a: None)
    assert _job(database_url, asset)["state"] == "failed"
    assert _job(database_url, asset)["reason_code"] == "worker_lost"


def test_a_stage_filter_limits_what_it_claims(database_url, tmp_path):
    with_gps = insert_asset(database_url, tmp_path, location={"lat": 48.1, "lon": 11.6})
    insert_asset(database_url, tmp_path)
    stage = Stage(name="geocode", flag="is_geocoded", where="a.location IS NOT NULL")
    seen: list[int] = []
    _run_once(database_url, stage, process=lambda a: seen.append(a["id"]))
    assert seen == [with_gps]
    assert queue_depth(stage, database_url)["pending"] == 0


def test_a_batch_stage_records_each_items_outcome(database_url, tmp_path):
    a, b, c = _assets(database_url, tmp_path, 3)
    stage = Stage(name="backup", flag="is_backed_up", batch_size=10, max_attempts=1)

    def process_batch(assets: list[dict]) -> dict:
        return {a: None, b: ItemError("upload_failed", "remote said no", retryable=True)}

    _run_once(database_url, stage, process_batch=process_batch)
    assert dict(query(database_url, "SELECT asset_id, reason_code FROM stage_jobs")) == {
        b: "upload_failed", c: "internal_error"}
    assert _flags(database_url, "is_backed_up") == {a: True, b: False, c: False}


def test_stopping_mid_batch_gives_back_unstarted_items_without_counting_an_attempt(database_url, tmp_path):
    _assets(database_url, tmp_path, 5)
    worker = StageWorker(STAGE, database_url, process=lambda a: worker.stopper.request_stop())
    worker.run(once=True, heartbeat=False)
    assert worker.stats.done == 1
    rows = query(database_url, "SELECT state, attempts FROM stage_jobs ORDER BY asset_id")
    assert rows == [("pending", 0)] * 4
    assert sum(_flags(database_url).values()) == 1


def test_a_notify_wakes_an_idle_worker_at_once(database_url, tmp_path):
    stage = Stage(name="thumbnails", flag="is_thumbnailed", poll_s=3600.0)
    done = threading.Event()
    worker = StageWorker(stage, database_url, process=lambda a: done.set())
    thread = threading.Thread(target=worker.run, kwargs={"heartbeat": False})
    thread.start()
    try:
        while worker.listener is None:
            threading.Event().wait(0.05)
        assert worker.listener.listening.wait(30)
        asset = insert_asset(database_url, tmp_path)
        query(database_url, "SELECT pg_notify('pf_new_asset', %s)", (str(asset),))
        # polling is an hour away: only the NOTIFY can make this happen
        assert done.wait(60)
    finally:
        worker.stopper.request_stop()
        thread.join()
    assert _flags(database_url) == {asset: True}


def test_the_worker_beats_with_queue_depth_done_failed_and_rate(database_url, tmp_path):
    _assets(database_url, tmp_path, 3)
    worker = StageWorker(STAGE, database_url, process=lambda a: None)
    worker.run(once=True, heartbeat_seconds=5)
    [(status, details)] = query(database_url,
                                "SELECT status, details FROM system_status WHERE service = 'thumbnails'")
    assert status == "stopping"
    assert details["done"] == 3 and details["queue"] == 0 and details["failed"] == 0
    assert "rate_per_min" in details
