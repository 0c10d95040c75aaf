"""The dashboard's database time per page at 1,000,000 assets, next to the same queries at 10,000.

Each size gets its own database (on the private test cluster, or ``PF_TEST_DATABASE_URL``), all
migrations, rows generated in SQL (``seed.py``: assets over 20 years with cameras and places,
ingest events, 30 days of heartbeat history, stage jobs), then VACUUM ANALYZE. Per page, the
store calls the page makes run once to record their queries; each query then runs 5 times under
``EXPLAIN ANALYZE`` and its database time (planning + execution) is the median; a page's time is
the sum over its queries. The page's wall time (driver and Python included) is printed beside it.
Target: <= 300 ms of database time per page at 1M. ``PF_BENCH_DASHBOARD_N`` overrides the large
size.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.dashboard.seed import SECONDARY_INDEXES, SEED_SQL, TABLES
from dashboard.library_search import START, Filters
from dashboard.store import DashboardStore
from photo_factory import localpg, migrate

RUNS = 5
TARGET_MS = 300.0


def server_url() -> str:
    url = os.environ.get("PF_TEST_DATABASE_URL")
    if url:
        return url
    return localpg.ensure_cluster(Path(tempfile.gettempdir()) / "photo-factory-test-pg",
                                  int(os.environ.get("PF_TEST_PG_PORT", "54329")))


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin(url: str, sql: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def seeded(n: int) -> tuple[str, str]:
    server = server_url()
    name = f"pf_bench_dash_{n}_{uuid.uuid4().hex[:6]}"
    admin(server, f'CREATE DATABASE "{name}"')
    url = with_db(server, name)
    migrate.apply(url)
    t0 = time.monotonic()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(SECONDARY_INDEXES, {"tables": list(TABLES)})
        indexes = cur.fetchall()
        for index, _ in indexes:
            cur.execute(f'DROP INDEX "{index}"')
        cur.execute(SEED_SQL, {"n": n})
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("VACUUM ANALYZE")
    conn.close()
    print(f"  seeded {n:,} assets in {time.monotonic() - t0:.0f}s", flush=True)
    return server, name


def pages(store: DashboardStore) -> dict[str, list[tuple[str, Callable[[], object]]]]:
    present = store.present()
    last = store.capture_range().get("last") or dt.date.today()
    month = Filters(date_from=last.replace(day=1), date_to=last)
    place = Filters(country_code="CH", city="Town 3")
    return {
        "overview": [("services", store.services), ("failed_items", lambda: store.failed_items(present, 1000)),
                     ("library", store.library), ("open_incidents", lambda: store.open_incidents(present)),
                     ("last_drill", lambda: store.last_drill(present))],
        "pipeline": [("stage_numbers", lambda: store.stage_numbers(present)), ("services", store.services)],
        "library": [("library", store.library), ("capture_range", store.capture_range),
                    ("browse recent", lambda: store.browse(Filters().params(), START, 24)),
                    ("browse month", lambda: store.browse(month.params(), START, 24)),
                    ("browse place", lambda: store.browse(place.params(), START, 24)),
                    ("browse camera", lambda: store.browse(Filters(camera="X-T4").params(), START, 24)),
                    ("search name", lambda: store.browse(Filters(name="IMG_4242").params(), START, 24)),
                    ("map", lambda: store.located(Filters().params())),
                    ("places", lambda: store.places(500)), ("cameras", store.cameras),
                    ("panoramas", lambda: store.panoramas(present))],
        "history": [("uptime 7d", lambda: store.uptime(24 * 7)),
                    ("ingest_volume 7d", lambda: store.ingest_volume(24 * 7))],
        "service": [("services", store.services),
                    ("service_history", lambda: store.service_history("librarian", 24))],
        "failed": [("failed_items", lambda: store.failed_items(present)), ("quarantine", store.quarantine),
                   ("recent_actions", store.recent_actions)],
        "backup": [("backup", lambda: store.backup(present))],
    }


def db_ms(store: DashboardStore, name: str, params: dict | None) -> float:
    """One query's database time: planning + execution, from EXPLAIN ANALYZE."""
    with store.db.transaction() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + store.db.sql(name), params or {})
        raw = next(iter(cur.fetchone().values()))
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]
    return float(plan["Planning Time"]) + float(plan["Execution Time"])


def measure(url: str) -> dict[str, tuple[float, float, dict[str, float]]]:
    """Per page: (database ms, wall ms, {query: database ms})."""
    store = DashboardStore(url, "bench-dashboard")
    recorded: list[tuple[str, dict | None]] = []
    fetchall, fetchone = store.db.fetchall, store.db.fetchone

    def rec_all(name: str, params: dict | None = None) -> list[dict]:
        recorded.append((name, params))
        return fetchall(name, params)

    def rec_one(name: str, params: dict | None = None) -> dict | None:
        recorded.append((name, params))
        return fetchone(name, params)

    out = {}
    try:
        for page, calls in pages(store).items():
            store.db.fetchall, store.db.fetchone = rec_all, rec_one  # type: ignore[method-assign]
            recorded.clear()
            walls = []
            for run in range(RUNS):
                t0 = time.perf_counter()
                for _label, call in calls:
                    call()
                walls.append((time.perf_counter() - t0) * 1000)
                if run == 0:
                    queries = list(recorded)
            store.db.fetchall, store.db.fetchone = fetchall, fetchone  # type: ignore[method-assign]
            per_query: dict[str, float] = {}
            for i, (name, params) in enumerate(queries):
                per_query[f"{name}#{i}"] = statistics.median(db_ms(store, name, params) for _ in range(RUNS))
            out[page] = (sum(per_query.values()), statistics.median(walls), per_query)
    finally:
        store.close()
    return out


def main() -> int:
    large = int(os.environ.get("PF_BENCH_DASHBOARD_N", "1000000"))
    results = {}
    for n in (10_000, large):
        server, name = seeded(n)
        try:
            cpu0 = time.process_time()
            results[n] = measure(with_db(server, name))
            print(f"  measured {n:,} (client CPU {time.process_time() - cpu0:.1f}s)", flush=True)
        finally:
            admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    head = f"{'page':<10} {'db ms @' + format(large, ','):>15} {'db ms @10,000':>14} {'ratio':>6} {'wall ms':>8}"
    print(f"{head}  slowest queries @{large:,} (ms)")
    worst = 0.0
    for page, (total, wall, per_query) in results[large].items():
        base = results[10_000][page][0]
        top = sorted(per_query, key=per_query.__getitem__, reverse=True)[:3]
        worst = max(worst, total)
        print(f"{page:<10} {total:>15.1f} {base:>14.1f} {total / base:>6.2f} {wall:>8.1f}  "
              + ", ".join(f"{q.split('#')[0]} {per_query[q]:.1f}" for q in top))
    print(f"target: <= {TARGET_MS:.0f} ms of database time per page at {large:,}: "
          f"{'met' if worst <= TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
