"""The IANA time zone at a GPS position, offline (timezonefinder's polygons, loaded on first use)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_finder: Any = None
_unavailable = False


def zone_at(lat: float, lon: float) -> str | None:
    """The zone name at (lat, lon), or None (open sea, ``Etc/`` zones, no data installed)."""
    global _finder, _unavailable
    with _lock:
        if _finder is None and not _unavailable:
            try:
                from timezonefinder import TimezoneFinder

                _finder = TimezoneFinder()
            except Exception as exc:  # not installed or no data: dates use the configured zone
                log.warning("no offline time-zone data (%s): GPS positions do not set time zones", exc)
                _unavailable = True
        finder = _finder
    if finder is None:
        return None
    try:
        zone = finder.timezone_at(lng=lon, lat=lat)
    except ValueError:
        return None
    return zone if zone and not zone.startswith("Etc/") else None


def zone_of(location: Mapping[str, float] | None) -> str | None:
    if not location:
        return None
    return zone_at(location["lat"], location["lon"])


def lazy_zone(location: Mapping[str, float] | None) -> Callable[[], str | None]:
    """A function giving the zone of ``location``, looked up once, on first call."""
    memo: list[str | None] = []

    def zone() -> str | None:
        if not memo:
            memo.append(zone_of(location))
        return memo[0]
    return zone
