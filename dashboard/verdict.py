"""The one-glance verdict: each service's effective status and the overall state (pure; no I/O).

A heartbeat older than ``stale_factor`` × its own interval reads as ``stale`` even before the
monitor marks it. A container that Docker reports exited, dead or unhealthy is ``down`` at once,
whatever its last heartbeat said; a service whose last word was ``stopping`` for longer than
``STOPPED_AFTER_S`` is ``down`` too (a restart says ``starting`` within seconds). Levels: ``ok``;
``warning`` (degraded, starting, briefly stopping services, failed items and quarantined files
not acknowledged); ``error`` (stale, down or failing services, open alert incidents). A service
that beats a ``setup_hint`` (backup without a remote) is a hint, not a problem. Acknowledged
failures are listed, never counted.
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
#: A service still ``stopping`` after this long has stopped: it is down.
STOPPED_AFTER_S = 30.0
DOWN_STATES = ("exited", "dead")


def container_down(container: dict[str, Any] | None) -> str | None:
    """Why Docker says the service's container is down (exited, dead, unhealthy), or None."""
    if not container:
        return None
    state, health = container.get("state"), container.get("health")
    if state in DOWN_STATES:
        code = container.get("exit_code")
        return f"container {state}" + (f" (exit code {code})" if code is not None else "")
    if state == "restarting":
        return "container restarting (crash loop?)"
    if health == "unhealthy":
        return "container unhealthy" + (f": {container['health_log']}" if container.get("health_log") else "")
    return None


def effective_status(row: dict[str, Any], stale_factor: float) -> str:
    """The row's status, or ``stale`` when its heartbeat is overdue."""
    if row["status"] not in ("stale",) and float(row["age_s"]) > stale_factor * float(row["interval_s"]):
        return "stale"
    return row["status"]


def with_effective(services: list[dict[str, Any]], stale_factor: float,
                   containers: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Services in display order with ``effective`` and ``level`` added (expected ones first).

    ``containers``: Docker's view per service (``docker_state.describe``), when available.
    """
    rank = {name: i for i, name in enumerate(EXPECTED)}
    out = []
    for row in sorted(services, key=lambda r: (rank.get(r["service"], len(rank)), r["service"])):
        eff = effective_status(row, stale_factor)
        message = row.get("message") or ""
        level = LEVEL.get(eff, "warning")
        if eff == "stale" and row["status"] != "stale":
            message = f"no heartbeat for {float(row['age_s']):.0f}s (last said: {message or row['status']})"
        down = container_down((containers or {}).get(row["service"]))
        if down:
            eff, level, message = "down", "error", f"{down}; last heartbeat: {message or row['status']}"
        elif eff in ("stopping", "stopped") and float(row["age_s"]) > STOPPED_AFTER_S:
            eff, level = "down", "error"
            message = f"stopped {float(row['age_s']):.0f}s ago: {message}".rstrip(": ")
        elif (row.get("details") or {}).get("setup_hint") and eff not in ("stale", "error"):
            eff, level = "not configured", "ok"
        out.append({**row, "message": message, "effective": eff, "level": level})
    return out


@dataclass
class Verdict:
    level: str
    headline: str
    problems: list[str] = field(default_factory=list)
    #: Setup hints and notes (backup not configured, acknowledged items, maintenance): never a problem.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.level == "ok"


def overall(services: list[dict[str, Any]], incidents: list[dict[str, Any]] | None = None,
            failed_items: int = 0, quarantined: int = 0, drill: dict[str, Any] | None = None, *,
            acknowledged: int = 0, unprotected: int | None = None,
            maintenance: dict[str, Any] | None = None) -> Verdict:
    """Fold services (with ``effective``), open incidents, failure counts (not acknowledged) and
    the last restore drill (a failed one is an error: the backup may not restore) into one
    verdict. ``acknowledged``: failures kept but left out; ``unprotected``: files not backed up
    (for the backup setup hint); ``maintenance``: the switch while on (noted, alerts held)."""
    problems: list[str] = []
    notes: list[str] = []
    level = "ok"
    if maintenance:
        until = maintenance["until"]
        notes.append(f"maintenance until {until:%Y-%m-%d %H:%M %Z}: alerts are held"
                     + (f" ({maintenance['reason']})" if maintenance.get("reason") else ""))
    for s in services:
        if s.get("effective") == "not configured" and s["service"] == "backup":
            n = "" if unprotected is None else f"{unprotected:,} file(s) not protected yet; "
            notes.append(f"setup: backup not configured: {n}set PF_BACKUP_REMOTE (README: Backup)")
        elif s.get("effective") == "not configured":
            notes.append(f"setup: {s['service']}: {s.get('message') or 'not configured'}")
    if acknowledged:
        notes.append(f"{acknowledged} acknowledged failure(s) kept (acknowledge list --all)")

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
        problems.append(f"{failed_items} failed item(s) need a look (Failed items → Retry or Acknowledge)")
    if quarantined:
        worse("warning")
        problems.append(f"{quarantined} file(s) in quarantine (Failed items → Retry, Acknowledge or Delete)")
    if drill and drill.get("result") == "failed":
        worse("error")
        problems.append(drill_problem(drill))
    if not services:
        worse("warning")
        problems.insert(0, "no heartbeats in system_status")
        if level == "warning":
            return Verdict("warning", "No service has reported yet", problems, notes)
    headline = {"ok": "Everything is fine", "warning": "Needs attention",
                "error": "Something is wrong"}[level]
    if maintenance:
        headline += " (maintenance)"
    return Verdict(level, headline, problems, notes)


def drill_problem(drill: dict[str, Any]) -> str:
    """One line about a failed restore drill (each missing or differing file counted once)."""
    error = (drill.get("detail") or {}).get("error")
    what = f"could not restore ({error})" if error else (
        f"{drill.get('mismatches', 0)} file(s) differ, {drill.get('missing', 0)} missing")
    return f"last restore drill #{drill['id']} failed: {what}"
