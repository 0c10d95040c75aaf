"""Durable commits per item: a commit that must reach the disk is most of what PostgreSQL spends
on an item (bench/pipeline: ~0.8 ms of backend CPU each, on a 1-2 ms item), so the engine shares
them: a round's look for new assets, its claim and the first item's start are one transaction; an
item's completion (with the stage's own writes of the outcome: the geocoder's place) and the next
item's start are one more. Before: enqueue, claim, then start and complete per item, and the
geocoder's place in a transaction of its own: 2.5 commits an item (3.5 a geocoded photo).

Counted, not timed: every transaction of the worker's connections, and the ones that wrote
(``txid_current_if_assigned()``: only a writing transaction has an id and flushes the WAL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from photo_factory import db
from photo_factory.worker import Stage, StageWorker
from processor.geocode import offline
from processor.geocode.service import Geocoder, GeocodeSettings, make_stage
from processor.geocode.store import GeocodeStore
from tests.integration.geocode.test_geocode_worker import PLACE, add_photo
from tests.support.db import query as rows
from tests.support.thumbnail_samples import insert_asset

pytestmark = pytest.mark.integration


class Counter:
    def __init__(self) -> None:
        self.transactions = 0
        self.writes = 0

    def watch(self, database: db.Database) -> None:
        """Count ``database``'s transactions (and the writing ones) from now on."""
        plain = database.transaction

        @contextlib.contextmanager
        def counted() -> Iterator:
            with plain() as cur:
                yield cur
                cur.execute("SELECT txid_current_if_assigned() IS NOT NULL AS wrote")
                self.writes += int(cur.fetchone()["wrote"])
            self.transactions += 1

        database.transaction = counted  # type: ignore[method-assign]


def test_an_item_costs_one_durable_commit_plus_a_share_of_its_round(database_url, tmp_path: Path):
    n, batch = 12, 4
    ids = [insert_asset(database_url, tmp_path) for _ in range(n)]
    stage = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=batch)
    seen: list[int] = []
    worker = StageWorker(stage, database_url, process=lambda a: seen.append(a["id"]))
    count = Counter()
    count.watch(worker.store.db)
    while worker.work_once():
        pass
    worker.store.db.close()
    assert sorted(seen) == ids and worker.stats.done == n
    assert rows(database_url, "SELECT count(*) AS n FROM media_assets WHERE is_thumbnailed")[0]["n"] == n
    assert rows(database_url, "SELECT count(*) AS n FROM stage_jobs")[0]["n"] == 0
    # one per item, one per round of `batch`, one registration (was 2.5 an item: 30 + 1)
    assert count.writes <= n + n // batch + 1, (count.writes, count.transactions)
    # and round trips: the same plus the first recovery check and its prune, and the last, empty
    # round (was 2.5 an item as well: 35)
    assert count.transactions <= n + n // batch + 4, (count.writes, count.transactions)


def test_a_workers_first_round_claims_in_its_first_transaction_and_recovers_after_the_batch(
    database_url, tmp_path: Path
):
    """A worker just started (a service's first round, every ``--once`` run) used to register,
    recover dead workers' claims and prune (three commits, ~30 ms) before its first claim: the
    backup's first upload waited for them. Registration now rides on the claim's commit (never
    after it: an unregistered worker's claims would look dead) and recovery runs after the batch."""
    ids = [insert_asset(database_url, tmp_path) for _ in range(3)]
    stage = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4)
    before_first: list[int] = []
    registered: list[int] = []

    def process(asset: dict) -> None:
        if not before_first:
            before_first.append(count.transactions)
            registered.append(rows(database_url, "SELECT count(*) AS n FROM stage_workers WHERE worker_id = %s",
                                   worker.worker_id)[0]["n"])

    worker = StageWorker(stage, database_url, process=process)
    count = Counter()
    count.watch(worker.store.db)
    recovered_at: list[int] = []
    recover = worker.store.recover_stale

    def spied() -> list[dict]:
        recovered_at.append(count.transactions)
        return recover()

    worker.store.recover_stale = spied  # type: ignore[method-assign]
    assert worker.work_once()
    worker.store.db.close()
    assert before_first == [1]  # the claim round (with the registration and the first start)
    assert registered == [1]
    assert recovered_at and recovered_at[0] > 1  # after the batch's completions
    assert rows(database_url, "SELECT count(*) AS n FROM media_assets WHERE is_thumbnailed")[0]["n"] == len(ids)


def test_a_geocoded_photo_costs_one_durable_commit_with_its_place(database_url, storage, tmp_path: Path):
    n = 6
    for i in range(n):
        add_photo(database_url, storage["storage"], tmp_path, f"p{i}", {"lat": 46.624, "lon": 8.041 + i / 1000})
    store = GeocodeStore(database_url)
    cfg = GeocodeSettings()
    worker = StageWorker(make_stage(cfg), database_url,
                         process=Geocoder(store, offline.OfflineProvider(), cfg.geocode_cache_decimals).process)
    count = Counter()
    count.watch(worker.store.db)
    count.watch(store.db)
    while worker.work_once():
        pass
    with worker.store.db.transaction() as cur:  # and the place's UPDATE is planned once, not per photo
        cur.execute("SELECT generic_plans + custom_plans AS runs FROM pg_prepared_statements "
                    "WHERE name = 'pf_geocode_save_place'")
        assert [r["runs"] for r in cur.fetchall()] == [n]
    worker.store.db.close()
    store.close()
    placed = rows(database_url, PLACE)
    assert len(placed) == n
    assert all(r["is_geocoded"] and r["stamped"] and r["city"] == "Grindelwald" for r in placed)
    # one round (claim + first start), one per photo (place + flag + next start), registration
    # (was 3 a photo: start, place, flag)
    assert count.writes <= n + 2, (count.writes, count.transactions)


def test_the_statements_of_an_item_are_planned_once_a_connection_not_once_an_item(database_url, tmp_path: Path):
    """Planning an UPDATE of media_assets (two dozen indexes) cost ~1 ms of PostgreSQL's ~4 ms an
    item: the engine's per-item and per-round statements are prepared once per connection and
    run from a generic plan after PostgreSQL's first five custom ones."""
    n = 20
    for _ in range(n):
        insert_asset(database_url, tmp_path)
    stage = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=2)
    worker = StageWorker(stage, database_url, process=lambda a: None)
    while worker.work_once():
        pass
    assert worker.stats.done == n
    with worker.store.db.transaction() as cur:  # the view is the session's own
        cur.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = {r["name"]: (r["generic_plans"], r["custom_plans"]) for r in cur.fetchall()}
    for name, runs in (("complete", n), ("start", n), ("claim", n // 2 + 1)):
        generic, custom = plans[f"pf_thumbnails_{name}"]
        assert generic + custom >= runs and custom <= 5, (name, generic, custom)
    worker.store.db.close()  # a reconnect (the database restarted): prepared again on the new one
    for _ in range(3):
        insert_asset(database_url, tmp_path)
    while worker.work_once():
        pass
    assert worker.stats.done == n + 3
    assert rows(database_url, "SELECT count(*) AS n FROM media_assets WHERE NOT is_thumbnailed")[0]["n"] == 0
    worker.store.db.close()


def test_a_busy_worker_counts_its_queue_once_a_half_beat_interval_not_every_two_seconds(database_url, tmp_path: Path):
    """The heartbeat's queue counts (four capped index walks) were taken every 2 s while busy,
    though the beat writes them once an interval (60 s by default): now at most twice an
    interval. Counted: a run of at least 5 s (25 items of >= 0.2 s) with a one-hour beat takes
    them for its first round and when it runs dry (the old code: at least 3 times more)."""
    import time

    for _ in range(25):
        insert_asset(database_url, tmp_path)
    stage = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4)
    worker = StageWorker(stage, database_url, process=lambda a: time.sleep(0.2))
    calls = []
    counted = worker.beat_details

    def beat_details() -> dict:
        calls.append(1)
        return counted()

    worker.beat_details = beat_details  # type: ignore[method-assign]
    worker.run(once=True, heartbeat_seconds=3600)
    assert worker.stats.done == 25
    assert len(calls) <= 2, len(calls)


def test_a_claim_round_does_not_wait_for_its_wal_flush_but_a_completion_does(database_url, tmp_path: Path):
    """A claim round (enqueue, claim, first start) is queue bookkeeping: its commit need not wait
    for the disk (a lost round only returns the jobs to pending, unstarted). A completion (the
    flag: the library's truth) and the start that shares its transaction always wait."""
    for _ in range(6):
        insert_asset(database_url, tmp_path)
    stage = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=3)
    worker = StageWorker(stage, database_url, process=lambda a: None)
    modes: list[tuple[str, str]] = []
    plain = worker.store.db.transaction

    @contextlib.contextmanager
    def watched() -> Iterator:
        with plain() as cur:
            sent: list[str] = []
            execute = cur.execute

            def spy(query, params=None):
                sent.append(str(query)[:40])
                return execute(query, params)

            cur.execute = spy
            yield cur
            execute("SHOW synchronous_commit")
            setting = cur.fetchone()["synchronous_commit"]
            kind = ("complete" if any("pf_thumbnails_complete" in q for q in sent)
                    else "claim" if any("pf_thumbnails_claim" in q for q in sent) else "other")
            modes.append((kind, setting))

    worker.store.db.transaction = watched  # type: ignore[method-assign]
    while worker.work_once():
        pass
    worker.store.db.close()
    assert worker.stats.done == 6
    assert {m for k, m in modes if k == "claim"} == {"off"}, modes
    assert {m for k, m in modes if k == "complete"} == {"on"}, modes


def _commit_mode(worker: StageWorker) -> str:
    with worker.store.db.transaction() as cur:
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()["synchronous_commit"]


def test_stages_whose_output_is_durable_first_do_not_wait_for_their_completions_wal_flush(database_url):
    """Thumbnails (files fsynced before the completion), geocode (the place written in the
    completing transaction) and backup (flag only after proof): a PostgreSQL crash can only forget
    a completion, redone then; their workers no longer wait for the disk at every item. A stage
    that does not say so waits."""
    from processor.backup.service import stage as backup_stage
    from processor.backup.settings import BackupSettings
    from processor.thumbnails.service import stage as thumbnails_stage
    from processor.thumbnails.settings import ThumbnailSettings

    stages = [thumbnails_stage(ThumbnailSettings()), make_stage(GeocodeSettings()), backup_stage(BackupSettings())]
    for stage in [*stages, Stage(name="plain", flag="is_thumbnailed")]:
        worker = StageWorker(stage, database_url, process=lambda a: None)
        try:
            assert _commit_mode(worker) == ("on" if stage.name == "plain" else "off"), stage.name
        finally:
            worker.store.db.close()


def test_a_stage_that_starts_on_its_claim_waits_for_the_claims_wal_flush(database_url, tmp_path: Path):
    """The backup's claim IS its start: it is what keeps a second replica off the batch while
    rclone uploads it. Were that commit forgotten by a PostgreSQL crash, another replica would
    claim and upload the same files at the same time. One durable commit per batch of hundreds
    costs nothing; the stage's completions stay asynchronous (their proof is the remote copy)."""
    from processor.backup.service import stage as backup_stage
    from processor.backup.settings import BackupSettings

    for _ in range(3):
        insert_asset(database_url, tmp_path)
    worker = StageWorker(backup_stage(BackupSettings()), database_url, process=lambda a: None)
    seen: list[str] = []
    plain = worker.store.db.transaction

    @contextlib.contextmanager
    def watched() -> Iterator:
        with plain() as cur:
            yield cur
            cur.execute("SHOW synchronous_commit")
            seen.append(cur.fetchone()["synchronous_commit"])

    worker.store.db.transaction = watched  # type: ignore[method-assign]
    try:
        assets, started = worker.store.claim_round(10, 10, 0)
    finally:
        worker.store.db.close()
    assert len(assets) == 3 and started == {a["id"] for a in assets}
    assert seen == ["on"]
