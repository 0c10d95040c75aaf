"""Steps for places.feature: the real librarian and geocoder CLIs, offline or with a local fake Nominatim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import pano_samples
from tests.support.fake_nominatim import FakeNominatim
from tests.support.pano_samples import query, run_cli

scenarios("places.feature")

PLACE_SQL = ("SELECT country_code, country, region, city, geocode_provider, geocoded_at, is_geocoded "
             "FROM media_assets")


@pytest.fixture
def nominatim() -> Iterator[FakeNominatim]:
    with FakeNominatim() as fake:
        yield fake


@pytest.fixture
def geocode_env(pf_env: dict[str, str]) -> dict[str, str]:
    return {**pf_env, "PF_GEOCODE_PROVIDER": "offline"}


def _photo(storage: dict[str, Path], gps: tuple[float, float] | None) -> None:
    index = len(list(storage["inbox"].rglob("*.jpg")))
    [path] = pano_samples.write_unrelated_shots(storage["inbox"] / "DCIM", count=1, exif=False,
                                                prefix=f"GPS{index}_", seed=300 + 41 * index)
    pano_samples.set_exif(path, gps=gps)


@given(parsers.parse("a photo taken at {lat:g}, {lon:g} in the inbox"))
def photo_with_gps(lat: float, lon: float, storage: dict[str, Path]) -> None:
    _photo(storage, (lat, lon))


@given("a photo without GPS in the inbox")
def photo_without_gps(storage: dict[str, Path]) -> None:
    _photo(storage, None)


@given("the geocoder asks a Nominatim server on this machine")
def use_nominatim(geocode_env: dict[str, str], nominatim: FakeNominatim) -> None:
    geocode_env.update({"PF_GEOCODE_PROVIDER": "nominatim", "PF_GEOCODE_NOMINATIM_URL": nominatim.url,
                        "PF_GEOCODE_MIN_DELAY_SECONDS": "0",
                        "PF_GEOCODE_USER_AGENT": "photo-factory-acceptance-tests"})


@when("the librarian and the geocoder have run")
def run_librarian_and_geocoder(geocode_env: dict[str, str]) -> None:
    run_cli(geocode_env, "librarian", "--once")
    run_cli(geocode_env, "geocode", "--once")


def _described(row: dict) -> str:
    return f"{row['city']}, {row['region']}, {row['country']} ({row['country_code']})"


@then(parsers.parse("the photo's place is \"{place}\" from the \"{provider}\" provider"))
@then(parsers.parse("every photo's place is \"{place}\" from the \"{provider}\" provider"))
def place_is(place: str, provider: str, database_url: str) -> None:
    rows = query(database_url, PLACE_SQL)
    assert rows
    for row in rows:
        assert (_described(row), row["geocode_provider"]) == (place, provider)


@then("the photo has no place")
def no_place(database_url: str) -> None:
    [row] = query(database_url, PLACE_SQL)
    assert row["geocoded_at"] is None and row["city"] is None and row["is_geocoded"] is False


@then(parsers.parse("the Nominatim server received {count:d} request"))
@then(parsers.parse("the Nominatim server received {count:d} requests"))
def nominatim_requests(count: int, nominatim: FakeNominatim) -> None:
    assert len(nominatim.requests) == count


PLACE_DETAIL_SQL = ("SELECT original_name, country, city, place_kind, place_distance_km, place_source "
                    "FROM media_assets ORDER BY original_name")


@then(parsers.parse('the photos\' countries are "{countries}", with no town named'))
def countries_without_towns(countries: str, database_url: str) -> None:
    rows = query(database_url, PLACE_DETAIL_SQL)
    assert [r["country"] for r in rows] == countries.split(", ")
    assert all(r["city"] is None and r["place_kind"] == "land" for r in rows)


@then("each photo records how far the nearest town is and which data named the place")
def distance_and_source(database_url: str) -> None:
    for row in query(database_url, PLACE_DETAIL_SQL):
        assert row["place_distance_km"] > 30
        assert "boundaries:" in row["place_source"] and "towns:" in row["place_source"]


@then(parsers.parse('the places are "{first}" and "{second}"'))
def places_are(first: str, second: str, database_url: str) -> None:
    rows = query(database_url, PLACE_DETAIL_SQL)
    assert [f"{r['city'] or 'at sea'} ({r['place_kind']})" for r in rows] == [first, second]
