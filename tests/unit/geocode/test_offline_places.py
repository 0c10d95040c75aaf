"""The offline place finder on the data that ships with its packages, and on files a user points to."""

from __future__ import annotations

import json

import pytest

from processor.geocode.offline import GeoJSONBoundaries, OfflineProvider, Towns, offset
from processor.geocode.places import distance_km
from processor.geocode.service import GeocodeSettings


@pytest.fixture(scope="module")
def provider() -> OfflineProvider:
    p = OfflineProvider(30.0)
    p.load()
    return p


def test_a_highland_photo_in_iceland_far_from_any_town_gets_its_country(provider):
    place = provider.lookup(65.06, -16.63)
    assert (place.country_code, place.country, place.kind) == ("IS", "Iceland", "land")
    assert place.city is None and place.distance_km is not None and place.distance_km > 30
    assert place.region  # the nearest Icelandic town's region, well within 150 km
    assert "boundaries:" in (place.source or "") and "towns:" in (place.source or "")


def test_a_photo_in_the_mongolian_steppe_gets_its_country(provider):
    place = provider.lookup(47.21, 106.24)
    assert (place.country_code, place.country, place.kind) == ("MN", "Mongolia", "land")
    assert place.city is None and place.distance_km is not None and place.distance_km > 30


def test_a_photo_near_a_town_names_the_town_and_the_distance(provider):
    place = provider.lookup(46.624, 8.041)
    assert (place.country_code, place.region, place.city, place.kind) == ("CH", "Bern", "Grindelwald", "land")
    assert place.distance_km is not None and place.distance_km < 2


def test_the_open_ocean_says_ocean_and_names_no_country(provider):
    place = provider.lookup(35.0, -40.0)
    assert place.kind == "ocean" and place.empty
    assert place.distance_km is not None and place.distance_km > 500


def test_a_beach_and_a_boat_off_it_are_coastal_in_their_country(provider):
    beach = provider.lookup(50.819, -0.137)  # Brighton
    assert (beach.country_code, beach.kind, beach.city) == ("GB", "coast", "Brighton")
    boat = provider.lookup(*offset(50.819, -0.137, 180, 8))  # 8 km out, inside territorial waters
    assert (boat.country_code, boat.kind) == ("GB", "coast")


def test_a_town_across_the_border_is_not_named_for_the_country_the_photo_is_in(provider):
    # Evian-les-Bains (FR) across Lake Geneva from Lausanne: the place is in France.
    place = provider.lookup(46.40, 6.59)
    assert place.country_code == "FR" and place.city != "Lausanne"


def test_a_user_boundaries_file_gives_countries_and_admin1_regions(tmp_path):
    def square(lon0: float, lat0: float, size: float) -> dict:
        ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
        return {"type": "Polygon", "coordinates": [ring]}

    admin1 = tmp_path / "ne_10m_admin_1_states_provinces.geojson"
    admin1.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"iso_a2": "IS", "adm1_code": "ISL-1", "name_en": "Highlands"},
         "geometry": square(-18.0, 64.5, 2.0)},
        {"type": "Feature", "properties": {"iso_a2": "-99", "name": "nowhere"}, "geometry": square(0, 0, 1)},
    ]}))
    p = OfflineProvider(30.0, boundaries_file=admin1)
    place = p.lookup(65.06, -16.63)
    assert (place.country_code, place.country, place.region) == ("IS", "Iceland", "Highlands")
    assert "ne_10m_admin_1_states_provinces.geojson" in (place.source or "")
    assert p.lookup(0.5, 0.5).kind == "ocean"  # a -99 feature is no country
    assert GeoJSONBoundaries(admin1).sea_band_km == 0


def test_a_user_geonames_dump_with_its_admin_codes_names_towns(tmp_path):
    row = ["2629691", "Egilsstadir", "Egilsstadir", "", "65.26529", "-14.39480", "P", "PPLA", "IS", "",
           "43", "7300", "", "", "2308", "", "", "Atlantic/Reykjavik", "2024-01-01"]
    (tmp_path / "cities500.txt").write_text("\t".join(row) + "\n")
    (tmp_path / "admin1CodesASCII.txt").write_text("IS.43\tEast\tEast\t3337403\n")
    towns = Towns.load(tmp_path / "cities500.txt")
    [(town, km)] = towns.nearest(65.06, -16.63)
    assert (town.name, town.admin1, town.country_code) == ("Egilsstadir", "East", "IS")
    assert km == pytest.approx(distance_km(65.06, -16.63, 65.26529, -14.3948), abs=0.1)


def test_a_missing_data_file_is_named_when_the_settings_load(tmp_path, monkeypatch):
    monkeypatch.setenv("PF_GEOCODE_CITIES_FILE", str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="geocode_cities_file"):
        GeocodeSettings()


def test_offset_moves_the_given_distance():
    lat, lon = offset(10.0, 20.0, 90, 25.0)
    assert distance_km(10.0, 20.0, lat, lon) == pytest.approx(25.0, rel=1e-3)
