"""Places: turning GPS coordinates into country / region / subregion / city.

Two providers share one small interface (``name``, ``lookup(lat, lon) -> Place``):

* :class:`processor.geocode.offline.OfflineProvider` — country boundaries and GeoNames towns that
  ship inside packages, loaded once per process. No data leaves the house; no rate
  limit. The country is named wherever the boundaries say, the city only near a town.
* :class:`NominatimProvider` — geopy's Nominatim client against a self-hosted instance or the
  public service, behind geopy's ``RateLimiter`` (one request per ``min_delay_s``, retries with a
  pause on service errors). Results are cached by the caller, keyed by :func:`cache_key`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PUBLIC_NOMINATIM_HOST = "nominatim.openstreetmap.org"


@dataclass(frozen=True)
class Place:
    """Where a photo was taken. No names means the coordinates resolved to nothing.

    ``kind`` is 'land', 'coast' or 'ocean' (None when the provider does not say), ``distance_km``
    the distance to the nearest known town, ``source`` the data sets that gave the answer.
    """

    country_code: str | None = None
    country: str | None = None
    region: str | None = None
    subregion: str | None = None
    city: str | None = None
    kind: str | None = None
    distance_km: float | None = None
    source: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.country_code, self.country, self.region, self.subregion, self.city))

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


class Provider(Protocol):
    name: str

    def lookup(self, lat: float, lon: float) -> Place: ...


class ProviderUnavailable(Exception):
    """The provider could not answer now (timeout, HTTP 5xx, rate limit): try again later."""


def valid_coordinates(location: dict | None) -> tuple[float, float] | None:
    """``(lat, lon)`` from a media_assets.location value, or None when it is unusable."""
    try:
        lat, lon = float(location["lat"]), float(location["lon"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        return None
    return lat, lon


def cache_key(lat: float, lon: float, decimals: int) -> tuple[float, float]:
    """Rounded coordinates: 3 decimals is about 110 m, so a walk through town costs few lookups."""
    return round(lat, decimals), round(lon, decimals)


def country_name(code: str | None) -> str | None:
    """English short name of an ISO 3166-1 alpha-2 code (the code itself when unknown)."""
    if not code:
        return None
    import pycountry

    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code.upper()
    return getattr(country, "common_name", None) or country.name


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


_CITY_KEYS = ("city", "town", "village", "municipality", "hamlet")
_REGION_KEYS = ("state", "region", "province")
_SUBREGION_KEYS = ("county", "state_district", "district")


def place_from_nominatim(raw: dict | None) -> Place:
    """A Place from a Nominatim jsonv2 reverse answer (None or no address: empty)."""
    address = (raw or {}).get("address") or {}

    def first(keys: tuple[str, ...]) -> str | None:
        return next((address[k] for k in keys if address.get(k)), None)

    code = address.get("country_code")
    return Place(code.upper() if code else None, address.get("country"), first(_REGION_KEYS),
                 first(_SUBREGION_KEYS), first(_CITY_KEYS), source="nominatim" if raw else None)


class NominatimProvider:
    name = "nominatim"

    def __init__(self, url: str, user_agent: str, *, min_delay_s: float = 1.0, timeout_s: float = 10.0,
                 language: str = "en", max_retries: int = 2, error_wait_s: float = 5.0):
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.hostname == PUBLIC_NOMINATIM_HOST:
            min_delay_s = max(min_delay_s, 1.0)  # the public service's usage policy
        self.language = language
        client = Nominatim(domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme,
                           user_agent=user_agent, timeout=timeout_s)
        self._reverse = RateLimiter(client.reverse, min_delay_seconds=min_delay_s,
                                    max_retries=max_retries, error_wait_seconds=error_wait_s,
                                    swallow_exceptions=False)

    def lookup(self, lat: float, lon: float) -> Place:
        from geopy.exc import GeopyError

        try:
            location = self._reverse((lat, lon), exactly_one=True, language=self.language,
                                     addressdetails=True, zoom=14)
        except GeopyError as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return place_from_nominatim(location.raw if location is not None else None)
