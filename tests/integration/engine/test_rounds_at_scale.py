"""A worker round costs what is new, not the size of the library or of the failed backlog:
enqueue looks past the worker's mark, prune looks at a window of job rows past its own mark, a
heartbeat's queue counts stop at a cap. Checked by what PostgreSQL reads
(EXPLAIN ANALYZE row counts), never by time."""

from __future__ import annotations

import json

import psycopg2
import psycopg2.sql
import pytest

from photo_factory import db
from photo_factory.stage_store import StageStore, compose
from photo_factory.worker import Stage

pytestmark = pytest.mark.integration

STAGE = Stage(name="thumbnails", flag="is_thumbnailed")
ASSETS, FAILED = 40_000, 4_000


@pytest.fixture
def library(database_url: str) -> str:
    """40,000 assets: the last 4,000 failed for good, none pending; analyzed."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,"
            " captured_local, capture_date, date_source, tz_source, is_thumbnailed)"
            " SELECT lpad(to_hex(i), 64, '0'), 'Library/2024/2024-01-01/' || i, i::text, 1, 'image',"
            "        '2024-01-01', '2024-01-01', 'test', 'test', i <= %(done)s"
            "   FROM generate_series(1, %(n)s) AS i", {"n": ASSETS, "done": ASSETS - FAILED})
        cur.execute("INSERT INTO stage_jobs (asset_id, stage, state, attempts, reason_code)"
                    " SELECT id, 'thumbnails', 'failed', 3, 'corrupt_file' FROM media_assets"
                    " WHERE NOT is_thumbnailed")
        cur.execute("ANALYZE")
    conn.close()
    return database_url


def _rows_read(database_url: str, query: str, params: dict) -> int:
    """Rows every scan node of the plan produced (EXPLAIN ANALYZE, rolled back)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(psycopg2.sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query, params)
            plan = cur.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
        conn.rollback()
    finally:
        conn.close()

    def walk(node: dict) -> int:
        own = node["Actual Rows"] * node.get("Actual Loops", 1) if "Scan" in node["Node Type"] else 0
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


def test_enqueue_reads_only_what_is_past_the_mark(library):
    store = StageStore(db.Database(library, "t"), STAGE, "w")
    params = {"stage": "thumbnails", "worker": "w", "limit": 100}
    first = _rows_read(library, compose(STAGE)["enqueue_pending"], {**params, "after": 0})
    store.enqueue_pending(100)
    while store._enqueued_after < ASSETS:  # the first look walks the backlog once, 100 at a time
        store.enqueue_pending(100)
    after = _rows_read(library, compose(STAGE)["enqueue_pending"], {**params, "after": store._enqueued_after})
    store.db.close()
    assert first <= 3 * 100  # a look past 0 reads one window, not the whole failed backlog
    assert after <= 10  # at the mark: nothing new, (almost) nothing read


def test_a_prune_round_reads_a_window_of_job_rows_and_a_pass_drops_every_stale_one(library):
    conn = psycopg2.connect(library)
    with conn, conn.cursor() as cur:  # two failed items were done some other way (e.g. a restore)
        cur.execute("UPDATE media_assets SET is_thumbnailed = true WHERE id IN (%s, %s)",
                    (ASSETS - FAILED + 1, ASSETS))
    conn.close()
    read = _rows_read(library, compose(STAGE)["prune_jobs"],
                      {"stage": "thumbnails", "worker": "w", "after": 0, "limit": 100})
    assert read <= 6 * 100  # a window of job rows and their assets: not every job row, not the asset table
    store = StageStore(db.Database(library, "t"), STAGE, "w")
    dropped = [store.prune_jobs(limit=1000)]
    while store._pruned_after:  # a pass: as many rounds as it takes, then from the start again
        dropped.append(store.prune_jobs(limit=1000))
    store.db.close()
    assert (len(dropped), sum(dropped)) == (FAILED // 1000 + 1, 2)
    conn = psycopg2.connect(library)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM stage_jobs")
        assert cur.fetchone()[0] == FAILED - 2
    conn.close()


def test_queue_depth_counts_up_to_its_cap_whatever_the_backlog(library):
    """A heartbeat's counts read about cap rows each: 5,000 new assets and 4,000 failed items
    are counted as "1000+" each, not walked (the whole-backlog count read 13,000 rows here)."""
    conn = psycopg2.connect(library)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,"
                    " captured_local, capture_date, date_source, tz_source)"
                    " SELECT lpad(to_hex(i), 64, '0'), 'Library/2024/2024-01-02/' || i, i::text, 1, 'image',"
                    "        '2024-01-02', '2024-01-02', 'test', 'test'"
                    "   FROM generate_series(%(n)s + 1, %(n)s + 5000) AS i", {"n": ASSETS})
        cur.execute("ANALYZE")
    conn.close()
    cap = 1000
    read = _rows_read(library, compose(STAGE)["queue_depth"], {"stage": "thumbnails", "worker": "w", "cap": cap})
    assert read <= 8 * cap  # the whole-backlog count: 13,000 and more
    store = StageStore(db.Database(library, "t"), STAGE, "w")
    assert store.queue_depth(cap) == {"pending": cap, "backing_off": 0, "claimed": 0, "failed": cap}
    assert store.queue_depth(10_000) == {"pending": 5000, "backing_off": 0, "claimed": 0, "failed": FAILED}
    store.db.close()
