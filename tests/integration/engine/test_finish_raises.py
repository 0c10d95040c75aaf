"""Red team: a stage's Finish (its own writes of an item's outcome, run in the transaction that
completes the item and starts the next) that raises, in Python or in SQL: that item is recorded
as a retryable internal error (not done, not stuck started), its writes and the next item's start
are rolled back with it, and the round goes on with the next item. (Held on main.)"""

from __future__ import annotations

import pytest

from photo_factory.worker import Stage, StageWorker
from tests.integration.engine.test_claim_limits import _bulk_assets
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

STAGE = Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4, max_attempts=3)


def test_a_finish_that_raises_fails_its_item_alone_and_the_round_goes_on(database_url):
    _bulk_assets(database_url, 4)
    ids = [r[0] for r in query(database_url, "SELECT id FROM media_assets ORDER BY id")]

    def process(asset: dict):
        def finish(cur) -> None:
            cur.execute("UPDATE media_assets SET camera_model = 'written' WHERE id = %s", (asset["id"],))
            if asset["id"] == ids[1]:
                raise RuntimeError("finish broke")
            if asset["id"] == ids[2]:
                cur.execute("SELECT 1/0")
        return finish

    worker = StageWorker(STAGE, database_url, process=process)
    try:
        worker.store.touch_worker()
        worker._last_recover = float("inf")
        assert worker.work_once()
        assert worker._held == []
    finally:
        worker.store.db.close()
    done = {r[0] for r in query(database_url, "SELECT id FROM media_assets WHERE is_thumbnailed")}
    assert done == {ids[0], ids[3]}
    written = {r[0] for r in query(database_url, "SELECT id FROM media_assets WHERE camera_model = 'written'")}
    assert written == done  # the failed finishes' writes were rolled back
    jobs = query(database_url, "SELECT asset_id, state, attempts, reason_code FROM stage_jobs "
                               "WHERE stage = 'thumbnails' ORDER BY asset_id")
    assert jobs == [(ids[1], "pending", 1, "internal_error"), (ids[2], "pending", 1, "internal_error")]
