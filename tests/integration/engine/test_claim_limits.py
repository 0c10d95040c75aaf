"""A claim takes exactly its batch size, whatever plan PostgreSQL picks, and a killed worker costs
attempts only for the items it had really started."""

from __future__ import annotations

import pytest

from photo_factory import db
from photo_factory.stage_store import StageStore
from photo_factory.worker import Stage, StageWorker
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

THUMBS = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4, max_attempts=3, lease_s=60.0)
GEOCODE = Stage(name="geocode", flag="is_geocoded", where="a.location IS NOT NULL", batch_size=4)


def _bulk_assets(database_url: str, n: int, analyze: bool = False) -> None:
    """``n`` pending assets (with GPS) and their pending job rows. Without statistics (a young
    table, before autovacuum analyzed it) the planner estimated few rows and ran the old claim's
    ``IN (subquery)`` as a nested-loop semi join that rescanned the subquery for every row."""
    query(database_url, """
        INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,
                                  captured_local, capture_date, date_source, tz_source, location)
        SELECT md5(i::text) || md5((-i)::text), 'Library/2024/2024-05-01/IMG_' || i || '.JPG',
               'IMG_' || i || '.JPG', 1000, 'image', '2024-05-01 12:00', '2024-05-01', 'test', 'test',
               '{"lat": 48.1, "lon": 11.6}'::jsonb
          FROM generate_series(1, %s) AS i""", (n,))
    for stage in ("thumbnails", "geocode", "backup"):
        query(database_url, "INSERT INTO stage_jobs (asset_id, stage) SELECT id, %s FROM media_assets", (stage,))
    if analyze:
        query(database_url, "ANALYZE media_assets")
        query(database_url, "ANALYZE stage_jobs")


def _states(database_url: str, stage: str) -> dict[str, int]:
    return dict(query(database_url, "SELECT state, count(*) FROM stage_jobs WHERE stage = %s GROUP BY state",
                      (stage,)))


@pytest.mark.parametrize("analyze", [False, True], ids=["no-statistics", "analyzed"])
@pytest.mark.parametrize("stage", [
    THUMBS, GEOCODE, Stage(name="backup", flag="is_backed_up", batch_size=7),
], ids=lambda s: s.name)
def test_a_claim_takes_exactly_its_batch_size_from_a_long_queue(database_url, stage, analyze):
    n = 400
    _bulk_assets(database_url, n, analyze)
    store = StageStore(db.Database(database_url, "test"), stage, "w1")
    try:
        for round_ in range(1, 4):
            rows = store.claim(stage.batch_size)
            assert len(rows) == stage.batch_size
            assert _states(database_url, stage.name) == {
                "claimed": stage.batch_size * round_, "pending": n - stage.batch_size * round_}
    finally:
        store.db.close()


def test_a_killed_worker_costs_attempts_only_for_the_item_it_had_started(database_url):
    _bulk_assets(database_url, 40)
    for kill in range(1, 6):
        # a worker claims a batch, starts its first item, and is killed -9 (it never beats again)
        dead = StageStore(db.Database(database_url, "test"), THUMBS, f"dead-{kill}")
        try:
            dead.touch_worker()
            claimed = [r["id"] for r in dead.claim(THUMBS.batch_size)]
            assert len(claimed) == THUMBS.batch_size
            assert dead.start(claimed[:1]) == set(claimed[:1])
        finally:
            dead.db.close()
        query(database_url, "UPDATE stage_workers SET last_seen = now() - interval '1 hour' WHERE worker_id = %s",
              (f"dead-{kill}",))
        survivor = StageStore(db.Database(database_url, "test"), THUMBS, "survivor")
        try:
            recovered = survivor.recover_stale()
        finally:
            survivor.db.close()
        assert sorted(r["started"] for r in recovered) == [False, False, False, True]
        assert {r["state"] for r in recovered} == {"pending"}
    # five kills, five items really attempted once each; nothing failed, nothing else counted
    rows = query(database_url, "SELECT attempts, count(*) FROM stage_jobs WHERE stage = 'thumbnails' "
                               "GROUP BY attempts")
    assert dict(rows) == {0: 35, 1: 5}
    assert _states(database_url, "thumbnails") == {"pending": 40}
    assert query(database_url, "SELECT count(*) FROM stage_jobs WHERE reason_code = 'worker_lost' "
                               "AND attempts = 0") == [(0,)]


def test_an_item_that_kills_its_worker_every_time_still_ends_failed_as_worker_lost(database_url):
    _bulk_assets(database_url, 1)
    for kill in range(THUMBS.max_attempts):
        dead = StageStore(db.Database(database_url, "test"), THUMBS, f"dead-{kill}")
        try:
            [row] = dead.claim(1)
            dead.start([row["id"]])
        finally:
            dead.db.close()
        survivor = StageStore(db.Database(database_url, "test"), THUMBS, "survivor")
        try:
            survivor.recover_stale()
        finally:
            survivor.db.close()
    assert query(database_url, "SELECT state, attempts, reason_code FROM stage_jobs WHERE stage = 'thumbnails'") \
        == [("failed", 3, "worker_lost")]


def test_a_worker_does_not_process_an_item_whose_claim_was_recovered_from_it(database_url):
    _bulk_assets(database_url, 2)
    seen: list[int] = []
    worker = StageWorker(THUMBS, database_url, process=lambda a: seen.append(a["id"]))

    def process(asset: dict) -> None:
        seen.append(asset["id"])
        # while this worker is busy with its first item, another one declares it hung
        query(database_url, "UPDATE stage_jobs SET state = 'pending', claimed_by = NULL, claimed_at = NULL, "
                            "started_at = NULL WHERE started_at IS NULL AND state = 'claimed'")

    worker.process = process
    worker.store.touch_worker()
    assert worker.work_once()
    worker.store.db.close()
    assert len(seen) == 1
    assert _states(database_url, "thumbnails") == {"pending": 1}


def test_the_monitor_claims_at_most_fifty_notifications_per_round(database_url):
    from service_monitor.store import MonitorStore

    query(database_url, "INSERT INTO alert_incidents (key, kind, subject) "
                        "SELECT 'service:s' || i, 'service', 's' || i FROM generate_series(1, 400) AS i")
    store = MonitorStore(database_url)
    try:
        opened, resolved = store.claim_notifications()
    finally:
        store.close()
    assert (len(opened), len(resolved)) == (50, 0)
    assert query(database_url, "SELECT count(*) FROM alert_incidents WHERE open_notified_at IS NOT NULL") == [(50,)]


def test_at_the_tail_of_the_queue_each_live_worker_claims_its_fair_share(database_url):
    """Two live workers, batch 4, 13 items: whole batches while the queue is long, then shares
    of what is left (4, 4, 3, 1, 1), not 4, 4, 4, 1 (a batch of 4 left one worker with the last
    four heavy items while the other idled)."""
    _bulk_assets(database_url, 13)
    a = StageStore(db.Database(database_url, "test"), THUMBS, "a")
    b = StageStore(db.Database(database_url, "test"), THUMBS, "b")
    try:
        a.touch_worker()
        b.touch_worker()
        got = [len(s.claim(THUMBS.batch_size)) for s in (a, b, a, b, a)]
        assert got == [4, 4, 3, 1, 1]
        assert _states(database_url, "thumbnails") == {"claimed": 13}
    finally:
        a.db.close()
        b.db.close()
