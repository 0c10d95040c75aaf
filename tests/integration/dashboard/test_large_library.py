"""The dashboard's aggregates on 100,000 assets come from indexes, not whole-table scans."""

from __future__ import annotations

import json

import pytest

from dashboard.store import QUERIES
from tests.support.monitoring_samples import connect, seed_assets

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Queries over media_assets that must not read the whole table.
INDEXED = ("library_by_type", "library_by_month", "recent_assets", "pending_flags")


def plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def test_library_queries_use_indexes_on_100k_assets(database_url):
    seed_assets(database_url, 100_000)
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE media_assets")
        for name in INDEXED:
            cur.execute("EXPLAIN (FORMAT JSON) " + QUERIES[name], {"limit": 12, "cap": 20_000})
            raw = cur.fetchone()[0]
            plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
            scans = [(n["Node Type"], n.get("Relation Name")) for n in plan_nodes(plan)]
            assert ("Seq Scan", "media_assets") not in scans, (name, scans)
            cur.execute(QUERIES[name], {"limit": 12, "cap": 20_000})
            assert cur.fetchall(), name
