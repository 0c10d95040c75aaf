"""Finding 6: the verdict's queue counts stay cheap on a large library: exact up to a cap, then
the partial index's own size (bench/status measures the time)."""

from __future__ import annotations

import psycopg2
import pytest

from dashboard import status, status_store
from tests.support.monitoring_samples import seed_assets, seed_heartbeat

pytestmark = pytest.mark.integration


def test_a_queue_beyond_the_cap_is_an_estimate_and_says_so(database_url, monkeypatch):
    seed_assets(database_url, 400, thumbnailed_every=1)  # 400 pending backup, none pending thumbnails
    seed_heartbeat(database_url, "librarian", "ok")
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE media_assets")
    conn.close()
    monkeypatch.setattr(status_store, "COUNT_CAP", 50)
    store = status_store.StatusStore(database_url)
    try:
        report = status.collect(store, 3.0)
    finally:
        store.close()
    assert report["approximate"] == ["backup", "geocode"]  # 400 and 100 (every 4th has a location)
    assert 50 <= report["queues"]["backup"] <= 400 and report["queues"]["thumbnails"] == 0
    assert "backup ≈" in status.render(report)
