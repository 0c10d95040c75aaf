"""The one-glance verdict: each service's effective status and the overall state (pure; no I/O).

A heartbeat older than ``stale_factor`` × its own interval reads as ``stale`` even before the
monitor marks it. Levels: ``ok``; ``warning`` (degraded, starting, stopping/stopped services,
failed items, quarantined files); ``error`` (stale or failing services, open alert incidents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Every service the product runs or beats for, in display order.
EXPECTED = ("librarian", "thumbnails", "stitch", "geocode", "backup", "service-monitor", "dashboard",
            "factory-db", "syncthing", "disk")
LEVEL = {"ok": "ok", "degraded": "warning", "starting": "warning", "stopping": "warning",
         "stopped": "warning", "error": "error", "stale": "error"}
COLOURS = {"ok": "green", "warning": "orange", "error": "red", "unknown": "gray"}
ORDER = {"ok": 0, "warning": 1, "error": 2}


def effective_status(row: dict[str, Any], stale_factor: float) -> str:
    """The row's status, or ``stale`` when its heartbeat is overdue."""
    if row["status"] not in ("stale",) and float(row["age_s"]) > stale_factor * float(row["interval_s"]):
        return "stale"
    return row["status"]


def with_effective(services: list[dict[str, Any]], stale_factor: float) -> list[dict[str, Any]]:
    """Services in display order with ``effective`` and ``level`` added (expected ones first)."""
    rank = {name: i for i, name in enumerate(EXPECTED)}
    out = []
    for row in sorted(services, key=lambda r: (rank.get(r["service"], len(rank)), r["service"])):
        eff = effective_status(row, stale_factor)
        message = row.get("message") or ""
        if eff == "stale" and row["status"] != "stale":
            message = f"no heartbeat for {float(row['age_s']):.0f}s (last said: {message or row['status']})"
        out.append({**row, "message": message, "effective": eff, "level": LEVEL.get(eff, "warning")})
    return out


@dataclass
class Verdict:
    level: str
    headline: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.level == "ok"


def overall(services: list[dict[str, Any]], incidents: list[dict[str, Any]] | None = None,
            failed_items: int = 0, quarantined: int = 0, drill: dict[str, Any] | None = None) -> Verdict:
    """Fold services (with ``effective``), open incidents, failure counts and the last restore
    drill (a failed one is an error: the backup may not restore) into one verdict."""
    problems: list[str] = []
    level = "ok"

    def worse(new: str) -> None:
        nonlocal level
        if ORDER[new] > ORDER[level]:
            level = new

    for s in services:
        if s["level"] != "ok":
            worse(s["level"])
            problems.append(f"{s['service']} is {s['effective']}: {s.get('message') or ''}".rstrip(": "))
    for inc in incidents or []:
        worse("error" if inc["severity"] == "error" else "warning")
        if not any(p.startswith(inc["subject"]) for p in problems):
            problems.append(f"alert: {inc['subject']}")
    if failed_items:
        worse("warning")
        problems.append(f"{failed_items} failed item(s) need a look (Failed items → Retry)")
    if quarantined:
        worse("warning")
        problems.append(f"{quarantined} file(s) in quarantine")
    if drill and drill.get("result") == "failed":
        worse("error")
        problems.append(drill_problem(drill))
    if not services:
        worse("warning")
        problems.insert(0, "no heartbeats in system_status")
        if level == "warning":
            return Verdict("warning", "No service has reported yet", problems)
    headline = {"ok": "Everything is fine", "warning": "Needs attention",
                "error": "Something is wrong"}[level]
    return Verdict(level, headline, problems)


def drill_problem(drill: dict[str, Any]) -> str:
    """One line about a failed restore drill (each missing or differing file counted once)."""
    error = (drill.get("detail") or {}).get("error")
    what = f"could not restore ({error})" if error else (
        f"{drill.get('mismatches', 0)} file(s) differ, {drill.get('missing', 0)} missing")
    return f"last restore drill #{drill['id']} failed: {what}"
