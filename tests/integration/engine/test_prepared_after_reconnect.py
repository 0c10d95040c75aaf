"""Red team: the engine's prepared statements (stage_store.PreparedStatements) across a lost
connection (a PostgreSQL restart or a terminated backend between two rounds) and across a round
whose session lost its statements: the next round prepares again on the new connection, and every
item is still done once. (Held on main: written to pin it.)"""

from __future__ import annotations

import pytest

from photo_factory import db
from photo_factory.worker import ItemError, StageWorker
from processor.backup.service import stage as backup_stage
from processor.backup.settings import BackupSettings
from tests.integration.engine.test_claim_limits import _bulk_assets
from tests.support.thumbnail_samples import query

pytestmark = pytest.mark.integration

BACKUP = backup_stage(BackupSettings(backup_batch_size=3, backup_max_attempts=3))


def _round(worker: StageWorker) -> bool:
    for _ in range(3):  # the first use of a dead connection fails once; the next one reconnects
        try:
            return worker.work_once()
        except db.UNAVAILABLE:
            continue
    raise AssertionError("no round after a reconnect")


def test_a_terminated_backend_between_rounds_prepares_again_on_the_new_connection(database_url):
    _bulk_assets(database_url, 9)
    seen: list[int] = []

    def process_batch(assets: list[dict]) -> dict[int, ItemError | None]:
        seen.extend(a["id"] for a in assets)
        return {a["id"]: None for a in assets}

    worker = StageWorker(BACKUP, database_url, process_batch=process_batch)
    try:
        worker.store.touch_worker()
        worker._last_recover = float("inf")
        assert _round(worker)
        pid = worker.store.db.conn.get_backend_pid()
        query(database_url, f"SELECT pg_terminate_backend({pid})")
        assert _round(worker)
        assert worker.store.db.conn.get_backend_pid() != pid
        # a session whose statements vanished (DEALLOCATE ALL, a pooler's reset): EXECUTE fails
        # as an OperationalError (26000), the connection is dropped, the next round prepares again
        with worker.store.db.transaction() as cur:
            cur.execute("DEALLOCATE ALL")
        while _round(worker):
            pass
    finally:
        worker.store.db.close()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 9
    assert query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(9,)]
