"""A batch stage that starts its whole batch at once (the backup) is started by its claim: each job
row is rewritten once a round instead of twice (claim, then start), and the claim's promises stay:
exactly once across replicas, an attempt counted for every item a killed worker held, leases
recovered."""

from __future__ import annotations

import psycopg2
import pytest

from photo_factory import db
from photo_factory.stage_store import StageStore, compose
from photo_factory.worker import ItemError, StageWorker
from processor.backup.service import stage as backup_stage
from processor.backup.settings import BackupSettings
from tests.integration.engine.test_claim_limits import _bulk_assets, _states
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

BACKUP = backup_stage(BackupSettings(backup_batch_size=7, backup_max_attempts=3))

COUNT_UPDATES = """
CREATE TABLE test_job_updates (n integer NOT NULL);
CREATE FUNCTION test_count_job_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_job_updates VALUES (1); RETURN NULL; END $$;
CREATE TRIGGER test_count_job_updates AFTER UPDATE ON stage_jobs
    FOR EACH ROW EXECUTE FUNCTION test_count_job_updates();
"""


def test_the_backup_stage_is_started_by_its_claim():
    assert BACKUP.start_on_claim


def test_a_round_rewrites_each_claimed_job_row_once_and_counts_one_attempt(database_url):
    _bulk_assets(database_url, 20)
    query(database_url, COUNT_UPDATES)
    seen: list[tuple[int, int]] = []

    def process_batch(assets: list[dict]) -> dict[int, ItemError | None]:
        seen.extend((a["id"], a["stage_attempts"]) for a in assets)
        return {a["id"]: None for a in assets}

    worker = StageWorker(BACKUP, database_url, process_batch=process_batch)
    try:
        worker.store.touch_worker()
        worker._last_recover = float("inf")  # this round only: no recovery or prune pass
        assert worker.work_once()
    finally:
        worker.store.db.close()
    assert len(seen) == BACKUP.batch_size and {n for _, n in seen} == {1}
    # the claim wrote each row once; the completion deleted it (before: claim + start = twice)
    assert query(database_url, "SELECT count(*) FROM test_job_updates") == [(BACKUP.batch_size,)]
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(BACKUP.batch_size,)]


def test_a_failed_item_has_one_attempt_per_round(database_url):
    _bulk_assets(database_url, 1)
    attempts: list[int] = []

    def process_batch(assets: list[dict]) -> dict[int, ItemError | None]:
        attempts.extend(a["stage_attempts"] for a in assets)
        return {a["id"]: ItemError("upload_failed", "refused", retryable=True) for a in assets}

    worker = StageWorker(BACKUP, database_url, process_batch=process_batch)
    try:
        for _ in range(BACKUP.max_attempts):
            query(database_url, "UPDATE stage_jobs SET not_before = now() WHERE stage = 'backup'")
            assert worker.work_once()
    finally:
        worker.store.db.close()
    assert attempts == [1, 2, 3]
    assert query(database_url, "SELECT state, attempts FROM stage_jobs WHERE stage = 'backup'") == [("failed", 3)]


def test_a_killed_worker_s_batch_counts_one_attempt_and_comes_back(database_url):
    _bulk_assets(database_url, 10)
    dead = StageStore(db.Database(database_url, "test"), BACKUP, "dead")
    try:
        dead.touch_worker()
        claimed = {r["id"] for r in dead.claim(BACKUP.batch_size)}
    finally:
        dead.db.close()
    assert len(claimed) == BACKUP.batch_size
    query(database_url, "UPDATE stage_workers SET last_seen = now() - interval '1 hour' WHERE worker_id = 'dead'")
    survivor = StageStore(db.Database(database_url, "test"), BACKUP, "survivor")
    try:
        recovered = survivor.recover_stale()
        survivor.touch_worker()
        again = {r["id"] for _ in range(2) for r in survivor.claim(BACKUP.batch_size)}
    finally:
        survivor.db.close()
    assert {r["asset_id"] for r in recovered} == claimed and all(r["started"] for r in recovered)
    assert claimed <= again  # back in the queue
    assert dict(query(database_url, "SELECT asset_id, attempts FROM stage_jobs WHERE stage = 'backup' "
                                    "AND asset_id = ANY(%s)", (list(claimed),))) == {i: 2 for i in claimed}


def test_two_replicas_claiming_at_once_never_share_an_item(database_url):
    _bulk_assets(database_url, 10)
    # replica A's claim is still open (its row locks held) when replica B claims
    a = psycopg2.connect(database_url)
    b = StageStore(db.Database(database_url, "test"), BACKUP, "b")
    try:
        b.touch_worker()
        with a.cursor() as cur:
            cur.execute(compose(BACKUP)["claim"], {"stage": "backup", "worker": "a", "lease": 60.0,
                                                   "limit": BACKUP.batch_size, "start": True})
            got_a = {r[0] for r in cur.fetchall()}
        got_b = {r["id"] for r in b.claim(BACKUP.batch_size)}
        a.commit()
    finally:
        a.close()
        b.db.close()
    assert got_a and got_b and not got_a & got_b
    assert len(got_a | got_b) == 10
    assert _states(database_url, "backup") == {"claimed": 10}
    assert query(database_url, "SELECT count(*) FROM stage_jobs WHERE stage = 'backup' "
                               "AND (started_at IS NULL OR attempts <> 1)") == [(0,)]
