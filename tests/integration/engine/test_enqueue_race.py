"""A replica's enqueue that races another replica's completion leaves no job behind a --once run.

Under READ COMMITTED, ``INSERT … ON CONFLICT DO NOTHING`` waits for a concurrent delete of the
conflicting row and then inserts: the enqueue saw the asset pending (its snapshot), the other
replica completed it meanwhile, and a pending row for a done asset appears. Found as a flaky
tests/integration/engine/test_scale_out.py (one job row left)."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from photo_factory.worker import Stage, StageWorker
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

STAGE = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4, lease_s=60.0)


def _asset(database_url: str, n: int) -> int:
    [(asset_id,)] = query(database_url, """
        INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,
                                  captured_local, capture_date, date_source, tz_source)
        VALUES (md5(%s::text) || md5((-%s)::text), 'Library/2024/2024-05-01/IMG_' || %s || '.JPG',
                'IMG.JPG', 1000, 'image', '2024-05-01 12:00', '2024-05-01', 'test', 'test')
        RETURNING id""", (n, n, n))
    return asset_id


def test_a_once_run_leaves_no_job_of_an_asset_another_replica_completed_meanwhile(database_url):
    done_elsewhere, mine = _asset(database_url, 1), _asset(database_url, 2)
    query(database_url, "INSERT INTO stage_jobs (asset_id, stage, state, claimed_by, claimed_at) "
                        "VALUES (%s, 'thumbnails', 'claimed', 'replica-a', now())", (done_elsewhere,))
    other = psycopg2.connect(database_url)  # replica A completes its item, not yet committed
    cur = other.cursor()
    cur.execute("DELETE FROM stage_jobs WHERE asset_id = %s AND stage = 'thumbnails'", (done_elsewhere,))
    cur.execute("UPDATE media_assets SET is_thumbnailed = true WHERE id = %s", (done_elsewhere,))

    seen: list[int] = []
    worker = StageWorker(STAGE, database_url, process=lambda a: seen.append(a["id"]), worker_id="replica-b")
    run = threading.Thread(target=worker.run, kwargs={"once": True, "heartbeat": False})
    run.start()
    try:
        deadline = time.monotonic() + 60
        while not query(database_url, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND application_name = 'thumbnails'"
                                      " AND wait_event_type = 'Lock'"):
            assert time.monotonic() < deadline, "replica B's enqueue never waited for replica A"
            assert run.is_alive(), "replica B finished without meeting replica A's delete"
            time.sleep(0.05)
    finally:
        other.commit()
        other.close()
    run.join(60)
    assert not run.is_alive()
    assert seen == [mine]
    assert query(database_url, "SELECT asset_id, state FROM stage_jobs") == []
