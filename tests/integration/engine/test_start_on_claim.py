"""A batch stage that starts its whole batch at once (the backup) is started by its claim, and the
claim is ONE lease row naming the batch (migration 0026): no job row is written by the claim (it
was rewritten twice a round, then once), and the claim's promises stay: exactly once across
replicas, an attempt counted for every item a killed worker held, leases recovered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

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


def test_a_round_writes_one_lease_row_and_no_job_row_and_counts_one_attempt(database_url):
    _bulk_assets(database_url, 20)
    query(database_url, COUNT_UPDATES)
    seen: list[tuple[int, int]] = []
    leases: list[list] = []

    def process_batch(assets: list[dict]) -> dict[int, ItemError | None]:
        seen.extend((a["id"], a["stage_attempts"]) for a in assets)
        leases.append(query(database_url, "SELECT worker_id, items FROM stage_leases"))
        return {a["id"]: None for a in assets}

    worker = StageWorker(BACKUP, database_url, process_batch=process_batch)
    try:
        worker.store.touch_worker()
        worker._last_recover = float("inf")  # this round only: no recovery or prune pass
        assert worker.work_once()
    finally:
        worker.store.db.close()
    assert len(seen) == BACKUP.batch_size and {n for _, n in seen} == {1}
    # the claim wrote one lease row and no job row; the completion deleted the rows (before: each
    # row rewritten by the claim, and before that by the claim and the start)
    assert leases == [[(worker.worker_id, sorted(i for i, _ in seen))]]
    assert query(database_url, "SELECT count(*) FROM test_job_updates") == [(0,)]
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(BACKUP.batch_size,)]
    assert query(database_url, "SELECT count(*) FROM stage_leases") == [(0,)]  # the batch is over


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
        again = {r["id"]: r["stage_attempts"] for _ in range(2) for r in survivor.claim(BACKUP.batch_size)}
    finally:
        survivor.db.close()
    assert {r["asset_id"] for r in recovered} == claimed and all(r["started"] for r in recovered)
    assert claimed <= set(again)  # back in the queue, in its second attempt
    assert {again[i] for i in claimed} == {2}
    # the recovery wrote the dead worker's attempt; the survivor's lease holds the second
    assert dict(query(database_url, "SELECT asset_id, attempts FROM stage_jobs WHERE stage = 'backup' "
                                    "AND asset_id = ANY(%s)", (list(claimed),))) == {i: 1 for i in claimed}
    assert query(database_url, "SELECT reason_code, count(*) FROM stage_jobs WHERE stage = 'backup' "
                               "AND asset_id = ANY(%s) GROUP BY 1", (list(claimed),)) == [("worker_lost", len(claimed))]


def test_two_replicas_claiming_at_once_never_share_an_item(database_url):
    _bulk_assets(database_url, 10)
    # replica A's claim is still open (its lease not committed) when replica B claims: B waits for
    # it (claims of a leased stage take turns), then sees A's lease and takes only the rest
    a = psycopg2.connect(database_url)
    b = StageStore(db.Database(database_url, "test-b"), BACKUP, "b")
    got_b: set[int] = set()
    try:
        b.touch_worker()
        q = compose(BACKUP)
        params = {"stage": "backup", "worker": "a", "lease": 60.0, "limit": BACKUP.batch_size}
        with a.cursor() as cur:
            cur.execute(q["lock_leases"], params)
            cur.execute(q["claim_lease"], params)
            got_a = {r[0] for r in cur.fetchall()}
        claimer = threading.Thread(target=lambda: got_b.update(r["id"] for r in b.claim(BACKUP.batch_size)))
        claimer.start()
        assert wait_for(lambda: query(database_url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                                    "application_name = 'test-b' AND wait_event_type = 'Lock'")
                        == [(1,)], 30)
        assert not got_b
        a.commit()
        claimer.join(30)
    finally:
        a.close()
        b.db.close()
    assert got_a and got_b and not got_a & got_b
    assert len(got_a | got_b) == 10
    # the rows were not written: every item is in one lease, its attempt counted there
    assert _states(database_url, "backup") == {"pending": 10}
    assert query(database_url, "SELECT count(*) FROM stage_jobs WHERE stage = 'backup' AND attempts <> 0") == [(0,)]
    assert sorted(query(database_url, "SELECT worker_id, items FROM stage_leases")) == [
        ("a", sorted(got_a)), ("b", sorted(got_b))]


def _store(database_url: str, worker: str) -> StageStore:
    store = StageStore(db.Database(database_url, f"test-{worker}"), BACKUP, worker)
    store.touch_worker()
    return store


def _dead(database_url: str, worker: str) -> None:
    query(database_url, "UPDATE stage_workers SET last_seen = now() - interval '1 hour' WHERE worker_id = %s",
          (worker,))


def test_a_late_completion_of_a_recovered_lease_completes_nothing(database_url):
    _bulk_assets(database_url, 10)
    slow, other = _store(database_url, "slow"), _store(database_url, "other")
    try:
        held = [r["id"] for r in slow.claim(BACKUP.batch_size)]
        _dead(database_url, "slow")  # hung past its lease: taken for dead
        assert {r["asset_id"] for r in other.recover_stale()} == set(held)
        again = {r["id"] for r in other.claim(10)}
        done, _ = slow.step(held, [])  # it wakes up and reports its batch
    finally:
        slow.db.close()
        other.db.close()
    assert done == [] and set(held) <= again  # the claim was lost: only the new holder completes
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(0,)]


def test_a_recovery_waits_for_a_completion_in_flight_and_counts_only_the_rest(database_url):
    _bulk_assets(database_url, 10)
    worker, rescuer = _store(database_url, "w"), _store(database_url, "rescuer")
    a = psycopg2.connect(database_url)
    recovered: list[dict] = []
    try:
        held = sorted(r["id"] for r in worker.claim(BACKUP.batch_size))
        _dead(database_url, "w")
        with a.cursor() as cur:  # the worker's completion of three items, not yet committed
            cur.execute(compose(BACKUP)["complete_lease"], {"stage": "backup", "worker": "w", "ids": held[:3]})
            assert len(cur.fetchall()) == 3
        t = threading.Thread(target=lambda: recovered.extend(rescuer.recover_stale()))
        t.start()
        assert wait_for(lambda: query(database_url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                                    "application_name = 'test-rescuer' AND wait_event_type = 'Lock'")
                        == [(1,)], 30)
        a.commit()
        t.join(30)
    finally:
        a.close()
        worker.db.close()
        rescuer.db.close()
    assert sorted(r["asset_id"] for r in recovered) == held[3:]
    assert sorted(i for (i,) in query(database_url, "SELECT id FROM media_assets WHERE is_backed_up")) == held[:3]
    assert query(database_url, "SELECT count(*) FROM stage_leases") == [(0,)]


def test_a_failure_recorded_in_a_lease_is_not_counted_again_when_the_worker_dies(database_url):
    _bulk_assets(database_url, 10)
    worker, rescuer = _store(database_url, "w"), _store(database_url, "rescuer")
    try:
        held = sorted(r["id"] for r in worker.claim(BACKUP.batch_size))
        outcome = worker.fail(held[0], "upload_failed", "refused", retryable=True)
        _dead(database_url, "w")
        recovered = {r["asset_id"] for r in rescuer.recover_stale()}
    finally:
        worker.db.close()
        rescuer.db.close()
    assert outcome is not None and (outcome.state, outcome.attempts) == ("pending", 1)
    assert recovered == set(held[1:])
    assert dict(query(database_url, "SELECT asset_id, attempts FROM stage_jobs WHERE stage = 'backup' "
                                    "AND asset_id = ANY(%s)", (held,))) == {i: 1 for i in held}
    assert query(database_url, "SELECT reason_code FROM stage_jobs WHERE stage = 'backup' AND asset_id = %s",
                 (held[0],)) == [("upload_failed",)]


def test_a_claim_killed_before_its_commit_leaves_no_lease(database_url):
    _bulk_assets(database_url, 10)
    a = psycopg2.connect(database_url, application_name="test-killed")
    b = _store(database_url, "b")
    try:
        q = compose(BACKUP)
        params = {"stage": "backup", "worker": "a", "lease": 60.0, "limit": BACKUP.batch_size}
        with a.cursor() as cur:
            cur.execute(q["lock_leases"], params)
            cur.execute(q["claim_lease"], params)
            assert len(cur.fetchall()) == BACKUP.batch_size
        # the claiming backend dies mid-claim (as with kill -9 of its worker, whose socket closes)
        assert query(database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = 'test-killed'") == [(True,)]
        got = {r["id"] for _ in range(2) for r in b.claim(BACKUP.batch_size)}
    finally:
        a.close()
        b.db.close()
    assert len(got) == 10  # nothing was held by the dead claim, nothing counted
    assert query(database_url, "SELECT worker_id, sum(cardinality(items)) FROM stage_leases GROUP BY 1") == [
        ("b", 10)]


def test_given_back_leased_items_are_claimed_again_without_a_counted_attempt(database_url):
    _bulk_assets(database_url, 10)
    first, second = _store(database_url, "first"), _store(database_url, "second")
    try:
        held = sorted(r["id"] for r in first.claim(BACKUP.batch_size))
        depth = first.queue_depth()
        first.release(held)  # stopped before its batch went out
        first.end_lease()
        again = {r["id"]: r["stage_attempts"] for r in second.claim(10)}
    finally:
        first.db.close()
        second.db.close()
    # in flight while leased (not pending); back in the queue in their first attempt
    assert held and (depth["claimed"], depth["pending"]) == (len(held), 10 - len(held))
    assert {again[i] for i in held} == {1}
    assert query(database_url, "SELECT count(*) FROM stage_jobs WHERE stage = 'backup' AND attempts <> 0") == [(0,)]


def test_a_leased_batch_is_in_flight_on_the_dashboard_and_in_the_status(database_url):
    from dashboard import status_store
    from dashboard.store import DashboardStore

    _bulk_assets(database_url, 10)
    query(database_url,
          "UPDATE media_assets SET ingested_at = timestamptz '2024-05-01' + make_interval(mins => id::int)")
    worker = _store(database_url, "w")
    try:
        held = [r["id"] for r in worker.claim(BACKUP.batch_size)]
        worker.step(held[:2], [])  # two of them done already: no longer in flight
    finally:
        worker.db.close()
    status = status_store.StatusStore(database_url)
    dash = DashboardStore(database_url)
    try:
        jobs = status.snapshot()["jobs"]["backup"]
        numbers = dash.stage_numbers(dash.present())
        page = numbers["jobs"]["backup"]
    finally:
        status.close()
        dash.close()
    in_flight = len(held) - 2
    assert (jobs.get("claimed"), jobs.get("pending")) == (in_flight, 10 - len(held))
    assert page["claimed"] == in_flight
    # the oldest item still waiting is the first one after the leased batch
    first_waiting = query(database_url, "SELECT ingested_at FROM media_assets WHERE id = %s", (max(held) + 1,))[0][0]
    assert numbers["oldest"]["backup"] == first_waiting
