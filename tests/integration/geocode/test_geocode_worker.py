"""The geocode stage against a real PostgreSQL (offline data set and a local fake Nominatim)."""

from pathlib import Path

import pytest

from photo_factory.worker import StageWorker
from processor.geocode import offline, places
from processor.geocode.service import Geocoder, GeocodeSettings, make_stage
from processor.geocode.store import GeocodeStore
from tests.support import pano_samples
from tests.support.db import query as rows
from tests.support.fake_nominatim import FakeNominatim

pytestmark = pytest.mark.integration


def add_photo(database_url: str, storage: Path, tmp_path: Path, name: str, location: dict | None) -> int:
    seed = sum(map(ord, name)) * 7
    [path] = pano_samples.write_unrelated_shots(tmp_path / name, count=1, prefix=name, exif=False, seed=seed)
    return pano_samples.insert_asset(database_url, storage, path, location=location, width=700, height=500)


def drain(database_url: str, provider: places.Provider, **overrides) -> StageWorker:
    store = GeocodeStore(database_url)
    cfg = GeocodeSettings(**overrides)
    worker = StageWorker(make_stage(cfg), database_url,
                         process=Geocoder(store, provider, cfg.geocode_cache_decimals).process)
    while worker.work_once():
        pass
    worker.store.db.close()
    store.close()
    return worker




PLACE = ("SELECT id, is_geocoded, country_code, country, region, subregion, city, geocode_provider, "
         "geocoded_at IS NOT NULL AS stamped FROM media_assets ORDER BY id")


def test_a_photo_with_gps_gets_its_place_offline(database_url, storage, tmp_path):
    add_photo(database_url, storage["storage"], tmp_path, "a", {"lat": 46.624, "lon": 8.041, "alt": 1034})
    drain(database_url, offline.OfflineProvider())
    [row] = rows(database_url, PLACE)
    assert row["is_geocoded"] and row["stamped"] and row["geocode_provider"] == "offline"
    assert (row["country_code"], row["country"], row["region"], row["city"]) == (
        "CH", "Switzerland", "Bern", "Grindelwald")


def test_a_photo_without_gps_is_never_claimed(database_url, storage, tmp_path):
    add_photo(database_url, storage["storage"], tmp_path, "n", None)
    drain(database_url, offline.OfflineProvider())
    [row] = rows(database_url, PLACE)
    assert not row["is_geocoded"] and not row["stamped"]
    assert rows(database_url, "SELECT count(*) AS n FROM stage_jobs")[0]["n"] == 0


def test_a_location_that_resolves_to_nothing_is_done_with_an_empty_result(database_url, storage, tmp_path):
    add_photo(database_url, storage["storage"], tmp_path, "sea", {"lat": 0.5, "lon": -30.0})
    drain(database_url, offline.OfflineProvider())
    [row] = rows(database_url, PLACE)
    assert row["is_geocoded"] and row["stamped"] and row["country_code"] is None and row["city"] is None
    [kind] = rows(database_url, "SELECT place_kind FROM media_assets")
    assert kind == {"place_kind": "ocean"}


def test_photos_far_from_any_town_get_their_country_with_distance_and_source(database_url, storage, tmp_path):
    add_photo(database_url, storage["storage"], tmp_path, "ice", {"lat": 65.06, "lon": -16.63})
    add_photo(database_url, storage["storage"], tmp_path, "steppe", {"lat": 47.21, "lon": 106.24})
    drain(database_url, offline.OfflineProvider())
    found = rows(database_url, "SELECT country_code, country, city, place_kind, place_distance_km, place_source "
                               "FROM media_assets ORDER BY id")
    assert [(r["country_code"], r["country"], r["city"], r["place_kind"]) for r in found] == [
        ("IS", "Iceland", None, "land"), ("MN", "Mongolia", None, "land")]
    assert all(r["place_distance_km"] > 30 and "boundaries:" in r["place_source"] for r in found)


def test_neighbouring_photos_cost_one_nominatim_request(database_url, storage, tmp_path):
    for i, lon in enumerate((2.29441, 2.29448, 2.2943)):
        add_photo(database_url, storage["storage"], tmp_path, f"p{i}", {"lat": 48.8583, "lon": lon})
    with FakeNominatim() as fake:
        provider = places.NominatimProvider(fake.url, "photo-factory-test", min_delay_s=0, error_wait_s=0)
        drain(database_url, provider)
    assert len(fake.requests) == 1
    assert (fake.requests[0]["lat"], fake.requests[0]["lon"]) == ("48.858", "2.294")
    found = rows(database_url, PLACE)
    assert {(r["city"], r["country_code"], r["geocode_provider"]) for r in found} == {
        ("Paris", "FR", "nominatim")}


def test_an_unavailable_nominatim_backs_off_and_keeps_the_photo_pending(database_url, storage, tmp_path):
    asset = add_photo(database_url, storage["storage"], tmp_path, "b", {"lat": 52.52, "lon": 13.405})
    with FakeNominatim() as fake:
        fake.fail_next = 100
        provider = places.NominatimProvider(fake.url, "t", min_delay_s=0, error_wait_s=0, max_retries=1)
        drain(database_url, provider)
    [job] = rows(database_url, "SELECT asset_id, state, reason_code, attempts, not_before > now() AS later "
                               "FROM stage_jobs")
    assert job == {"asset_id": asset, "state": "pending", "reason_code": "provider_unavailable",
                   "attempts": 1, "later": True}
    assert rows(database_url, "SELECT count(*) AS n FROM geocode_cache")[0]["n"] == 0


def test_an_unusable_location_fails_at_once_with_a_reason(database_url, storage, tmp_path):
    add_photo(database_url, storage["storage"], tmp_path, "x", {"lat": 123.0, "lon": 8.0})
    drain(database_url, offline.OfflineProvider())
    [job] = rows(database_url, "SELECT state, reason_code FROM stage_jobs")
    assert job == {"state": "failed", "reason_code": "bad_location"}
