"""The dashboard's rollups (migration 0019) always equal a count of the table they summarise,
whatever mix of inserts, updates and deletes the services make; and the History uptime counts
starting and degraded heartbeats as up."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.store import DashboardStore
from tests.support.monitoring_samples import connect, fetch, seed_assets, seed_heartbeat

pytestmark = pytest.mark.integration

TRUTH = {
    "library_months": """SELECT date_trunc('month', capture_date)::date AS month, media_type, count(*) AS files,
                              sum(size_bytes) AS bytes,
                              count(*) FILTER (WHERE location IS NOT NULL) AS located,
                              count(*) FILTER (WHERE is_thumbnailed) AS thumbnailed,
                              count(*) FILTER (WHERE is_geocoded AND location IS NOT NULL) AS geocoded,
                              count(*) FILTER (WHERE is_backed_up) AS backed_up
                         FROM media_assets GROUP BY 1, 2 ORDER BY 1, 2""",
    "library_places": """SELECT coalesce(country_code, '') AS country_code, coalesce(city, '') AS city,
                                count(*) AS files
                           FROM media_assets WHERE geocoded_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""",
    "library_cameras": """SELECT coalesce(camera_model, '') AS camera_model, count(*) AS files
                            FROM media_assets GROUP BY 1 ORDER BY 1""",
}
ROLLUP = {
    "library_months": """SELECT month, media_type, files, bytes, located, thumbnailed, geocoded, backed_up
                         FROM library_months
                        WHERE (files, bytes, located, thumbnailed, geocoded, backed_up) <> (0, 0, 0, 0, 0, 0)
                        ORDER BY 1, 2""",
    "library_places": """SELECT country_code, city, sum(files) AS files FROM library_places
                          GROUP BY 1, 2 HAVING sum(files) <> 0 ORDER BY 1, 2""",
    "library_cameras": """SELECT camera_model, sum(files) AS files FROM library_cameras
                           GROUP BY 1 HAVING sum(files) <> 0 ORDER BY 1""",
}

STATEMENTS = [
    "UPDATE media_assets SET is_thumbnailed = true WHERE id %% 3 = %(k)s",
    "UPDATE media_assets SET is_backed_up = NOT is_backed_up WHERE id %% 4 = %(k)s",
    """UPDATE media_assets SET is_geocoded = true, geocoded_at = now(), country_code = 'CH',
              city = 'Town ' || (id %% 3) WHERE location IS NOT NULL AND id %% 5 = %(k)s""",
    "UPDATE media_assets SET capture_date = capture_date + 400, size_bytes = size_bytes + 1 WHERE id %% 7 = %(k)s",
    "UPDATE media_assets SET camera_model = 'Cam ' || %(k)s WHERE id %% 2 = %(k)s %% 2",
    "DELETE FROM media_assets WHERE id %% 11 = %(k)s",
    "UPDATE media_assets SET location = NULL WHERE id %% 6 = %(k)s",
    "UPDATE media_assets SET media_type = 'video' WHERE id %% 9 = %(k)s",
]


def test_the_rollups_equal_the_counts_after_any_mix_of_changes(database_url):
    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, len(STATEMENTS) - 1), st.integers(0, 6)), max_size=6))
    def check(steps):
        start = 1 + 1000 * next(counter)
        seed_assets(database_url, 40, start=start)
        with connect(database_url) as conn, conn.cursor() as cur:
            for i, k in steps:
                cur.execute(STATEMENTS[i], {"k": k})
        for name, truth in TRUTH.items():
            assert fetch(database_url, ROLLUP[name]) == fetch(database_url, truth), name

    check()


def test_done_today_counts_items_that_became_done_and_library_totals_use_the_rollup(database_url):
    seed_assets(database_url, 10, thumbnailed_every=100)  # none thumbnailed
    fetch(database_url, "UPDATE media_assets SET is_thumbnailed = true WHERE id <= 4 RETURNING id")
    fetch(database_url, "UPDATE media_assets SET is_thumbnailed = true WHERE id <= 6 RETURNING id")
    store = DashboardStore(database_url)
    try:
        numbers = store.stage_numbers(store.present())
        assert numbers["done_today"]["thumbnails"] == 6  # 4, then 2 more (the 4 again are no news)
        assert numbers["totals"]["files"] == 10 and numbers["totals"]["thumbnailed"] == 6
    finally:
        store.close()


def test_uptime_counts_starting_and_degraded_heartbeats_as_up(database_url):
    for status in ("starting", "degraded", "ok", "error"):
        seed_heartbeat(database_url, "thumbnails", status, age_s=60)
    store = DashboardStore(database_url)
    try:
        [row] = store.uptime(24)
        assert row["beats"] == 4 and float(row["uptime_percent"]) == 75.0
    finally:
        store.close()
