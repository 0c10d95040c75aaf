"""Library browsing and search: keyset pages cover exactly the matching assets, newest first,
each once; every filter (name, date range, place, camera) narrows as a user means it."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.library_search import START, Filters, next_cursor
from dashboard.store import DashboardStore
from tests.support.monitoring_samples import fetch, seed_assets

pytestmark = pytest.mark.integration


@pytest.fixture
def store(database_url):
    seed_assets(database_url, 80)  # capture dates 2015-01-02 .. 2015-03-22, one per day
    fetch(database_url, """UPDATE media_assets SET country_code = 'CH', city = 'Grindelwald', camera_model = 'X-T4',
                                  geocoded_at = now()
                            WHERE id %% 4 = 0 RETURNING id""")
    fetch(database_url, "UPDATE media_assets SET original_name = 'Hütte_100%%.jpg' WHERE id = 7 RETURNING id")
    s = DashboardStore(database_url)
    yield s
    s.close()


def every_page(store: DashboardStore, filters: Filters, size: int = 7) -> list[dict]:
    rows, cursor = [], START
    while True:
        page = store.browse(filters.params(), cursor, size)
        rows += page
        if len(page) < size:
            return rows
        cursor = page[-1]["capture_date"], page[-1]["id"]


def test_pages_cover_every_asset_once_newest_first(store):
    rows = every_page(store, Filters())
    assert len(rows) == 80 and len({r["id"] for r in rows}) == 80
    keys = [(r["capture_date"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_each_filter_narrows_the_pages(store):
    place = every_page(store, Filters(country_code="CH", city="Grindelwald"))
    assert {r["id"] % 4 for r in place} == {0} and len(place) == 20
    assert every_page(store, Filters(camera="X-T4")) == place
    day = every_page(store, Filters(date_from=dt.date(2015, 1, 10), date_to=dt.date(2015, 1, 10)))
    assert [r["capture_date"] for r in day] == [dt.date(2015, 1, 10)]
    assert [r["id"] for r in every_page(store, Filters(name="hütte_100%"))] == [7]  # any case, % literal
    assert every_page(store, Filters(name="h_tte")) == []  # _ is a letter, not a wildcard for ü
    assert [r["id"] for r in every_page(store, Filters(name="IMG_7", camera="X-T4"))] == [76, 72]  # both


def test_the_next_cursor_continues_where_the_page_ended(store):
    first = store.browse(Filters().params(), START, 24)
    second = store.browse(Filters().params(), next_cursor(first), 24)
    assert not {r["id"] for r in first} & {r["id"] for r in second} and len(second) == 24
    assert (second[0]["capture_date"], second[0]["id"]) < (first[-1]["capture_date"], first[-1]["id"])


def test_the_map_follows_the_filters(store):
    located = store.located(Filters(country_code="CH", city="Grindelwald").params())
    assert located and all(r["lat"] == 48.1 for r in located)  # seed_assets locates every 4th
    assert len(located) == 20
