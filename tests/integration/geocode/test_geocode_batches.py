"""The offline geocoder works in batches (ADR-065): a lookup costs ~1 ms, so one transaction and
one run of the dashboard's rollup trigger per photo cost PostgreSQL more than the lookup itself.
Each photo of a batch still gets its own outcome, a bad one never takes the others with it, and the
places are written in the transaction that sets their flags (or not at all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from photo_factory.worker import StageWorker
from processor.geocode import offline, places
from processor.geocode.service import Geocoder, GeocodeSettings, make_stage, work
from processor.geocode.store import GeocodeStore
from tests.integration.engine.test_commits_per_item import Counter
from tests.integration.geocode.test_geocode_worker import PLACE, add_photo
from tests.support.db import query as rows

pytestmark = pytest.mark.integration

GRINDELWALD = {"lat": 46.624, "lon": 8.041}


def run(database_url: str, provider: places.Provider) -> tuple[StageWorker, Counter, GeocodeStore]:
    store = GeocodeStore(database_url)
    cfg = GeocodeSettings()
    worker = StageWorker(make_stage(cfg), database_url, **work(Geocoder(store, provider, cfg.geocode_cache_decimals)))
    count = Counter()
    count.watch(worker.store.db)
    count.watch(store.db)
    while worker.work_once():
        pass
    worker.store.db.close()
    store.close()
    return worker, count, store


def states(database_url: str) -> dict[int, tuple]:
    return {r["asset_id"]: (r["state"], r["reason_code"], r["attempts"]) for r in rows(
        database_url, "SELECT asset_id, state, reason_code, attempts FROM stage_jobs WHERE stage = 'geocode'")}


def test_the_offline_provider_runs_in_batches_and_nominatim_one_photo_at_a_time():
    assert set(work(Geocoder(None, offline.OfflineProvider(), 3))) == {"process_batch"}  # type: ignore[arg-type]
    nominatim = places.NominatimProvider("http://127.0.0.1:9", "pf-test", min_delay_s=0, timeout_s=1)
    assert set(work(Geocoder(None, nominatim, 3))) == {"process"}  # type: ignore[arg-type]


def test_a_batch_of_photos_costs_two_writing_transactions_and_every_photo_gets_its_own_place(
        database_url, storage, tmp_path: Path):
    n = 12
    ids = [add_photo(database_url, storage["storage"], tmp_path, f"p{i}",
                     {"lat": GRINDELWALD["lat"], "lon": GRINDELWALD["lon"] + i / 1000} if i % 3 else
                     {"lat": 35.0116, "lon": 135.7681}) for i in range(n)]
    _worker, count, _ = run(database_url, offline.OfflineProvider())
    placed = {r["id"]: r for r in rows(database_url, PLACE)}
    assert sorted(placed) == sorted(ids)
    for i, asset_id in enumerate(ids):  # each photo its own place, not its neighbour's
        r = placed[asset_id]
        assert r["is_geocoded"] and r["stamped"] and r["geocode_provider"] == "offline"
        assert r["city"] == ("Grindelwald" if i % 3 else "Kyoto"), (i, r)
    # registration, the claim round (which starts the batch), the completion with every place
    assert count.writes <= 3, (count.writes, count.transactions)
    months = rows(database_url, "SELECT sum(geocoded) AS n FROM library_months")
    assert months[0]["n"] == n  # the rollup trigger counted every photo of the one statement
    assert rows(database_url, "SELECT sum(files) AS n FROM library_places WHERE city = 'Kyoto'")[0]["n"] == 4


def test_a_bad_photo_fails_alone_and_a_lookup_that_raises_is_retried_alone(database_url, storage, tmp_path: Path):
    good = add_photo(database_url, storage["storage"], tmp_path, "good", GRINDELWALD)
    bad = add_photo(database_url, storage["storage"], tmp_path, "bad", {"lat": 123.0, "lon": 8.0})
    boom = add_photo(database_url, storage["storage"], tmp_path, "boom", {"lat": -33.86, "lon": 151.21})

    class Flaky(offline.OfflineProvider):
        def lookup(self, lat: float, lon: float) -> places.Place:
            if lat < 0:
                raise RuntimeError("a bug in one lookup")
            return super().lookup(lat, lon)

    run(database_url, Flaky())
    placed = {r["id"]: r for r in rows(database_url, PLACE)}
    assert placed[good]["is_geocoded"] and placed[good]["city"] == "Grindelwald"
    assert not placed[bad]["is_geocoded"] and not placed[boom]["is_geocoded"]
    assert placed[boom]["country_code"] is None  # nothing written for it
    jobs = states(database_url)
    assert jobs[bad][:2] == ("failed", "bad_location")
    assert jobs[boom][:2] == ("pending", "internal_error") and jobs[boom][2] == 1
    assert good not in jobs  # done: its job row is gone


def test_a_place_the_database_refuses_leaves_the_whole_batch_pending_with_nothing_written(
        database_url, storage, tmp_path: Path):
    ids = [add_photo(database_url, storage["storage"], tmp_path, f"p{i}", GRINDELWALD) for i in range(3)]

    class Refused(offline.OfflineProvider):
        def lookup(self, lat: float, lon: float) -> places.Place:
            return places.Place(country_code="CH", city="Grindelwald", kind="volcano")  # violates a CHECK

    run(database_url, Refused())
    assert all(not r["is_geocoded"] and r["country_code"] is None for r in rows(database_url, PLACE))
    jobs = states(database_url)
    assert sorted(jobs) == sorted(ids)
    assert all(state == ("pending", "internal_error", 1) for state in jobs.values()), jobs
