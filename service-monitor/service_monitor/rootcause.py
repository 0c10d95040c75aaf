"""One alert for the root cause (pure; no I/O).

When the host disk is low or a volume is gone, or the database was just down, the services that
depend on it fail too: their conditions are folded into the root incident's message instead of
opening one incident (and one alert) each.
"""

from __future__ import annotations

from typing import Any

ROOT_KINDS = ("disk", "database")
#: The monitor's own beats for the roots: never "affected", they *are* the cause.
INFRASTRUCTURE = ("service:disk", "service:factory-db")


def fold(active: list[dict[str, str]], after_outage: bool = False) -> list[dict[str, str]]:
    """``active`` with service conditions folded into a root condition when there is one.

    Roots: low disk (``disk:<volume>``), the monitor's own disk or factory-db beat in error (a
    volume gone), the database outage. ``after_outage``: the database came back moments ago;
    services that could not beat during the outage are not alerted before they could beat again.
    """
    if any(c["kind"] == "disk" for c in active):  # "disk is error" says the same as disk:<volume>
        active = [c for c in active if c["key"] != "service:disk"]
    roots = [c for c in active if c["kind"] in ROOT_KINDS or c["key"] in INFRASTRUCTURE]
    services = [c for c in active if c["kind"] == "service" and c["key"] not in INFRASTRUCTURE]
    if not roots and not after_outage:
        return active
    rest = [c for c in active if c["kind"] != "service" or c["key"] in INFRASTRUCTURE]
    if roots and services:
        affected = ", ".join(sorted(c["key"].split(":", 1)[1] for c in services))
        first = roots[0]
        folded = {**first, "message": f"{first['message']} (affected: {affected})"}
        rest = [folded if c is first else c for c in rest]
    return rest


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: how long a problem lasted."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    m = s // 60
    if m < 120:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def affected_services(services: list[dict[str, Any]]) -> list[str]:
    """Names of services that are not ok (for the root alert's text)."""
    return sorted(s["service"] for s in services if s.get("status") not in ("ok", "degraded", "starting"))
