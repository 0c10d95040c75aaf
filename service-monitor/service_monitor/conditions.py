"""Alert conditions: what is wrong right now, as incident keys (pure; no I/O).

Each condition is a dict ready for ``open_incident``: ``key`` (stable while the condition lasts),
``kind``, ``severity``, ``subject`` (the alert title) and ``message``.
"""

from __future__ import annotations

from typing import Any

#: Statuses that make a service an incident.
BAD = {"stale": "error", "error": "error"}


def condition(key: str, kind: str, subject: str, message: str, severity: str = "error") -> dict[str, str]:
    return {"key": key, "kind": kind, "severity": severity, "subject": subject, "message": message}


def service_conditions(services: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One condition per service that is ``stale`` or in ``error``."""
    found = []
    for s in services:
        if s["status"] in BAD:
            found.append(condition(f"service:{s['service']}", "service",
                                   f"{s['service']} is {s['status']}", s.get("message") or "",
                                   BAD[s["status"]]))
    return found


def disk_conditions(disk_details: dict[str, Any]) -> list[dict[str, str]]:
    """One condition per volume below its free-space limit."""
    found = []
    for name in disk_details.get("low", []):
        v = disk_details.get(name, {})
        free_gb = v.get("free_bytes", 0) / 1024**3
        found.append(condition(f"disk:{name}", "disk", f"low disk space on {name}",
                               f"{v.get('path', name)}: {free_gb:.1f} GB free ({v.get('free_percent', 0):.0f}%)"))
    return found


def failure_conditions(failures: int, threshold: int) -> list[dict[str, str]]:
    if failures > threshold:
        return [condition("failures", "failures", "many failures in the last hour",
                          f"{failures} items failed or were quarantined in the last hour "
                          f"(threshold {threshold})", "warning")]
    return []


def backup_conditions(backup: dict[str, Any] | None, max_age_hours: float,
                      backup_deployed: bool) -> list[dict[str, str]]:
    """The last good backup is too old (only once the backup service has been seen running)."""
    if backup is None or not backup_deployed:
        return []
    age = backup.get("age_hours")
    if age is None:
        return [condition("backup", "backup", "no good backup yet",
                          f"the backup service runs but no backup succeeded (limit {max_age_hours:g}h)")]
    if float(age) > max_age_hours:
        return [condition("backup", "backup", "backup is too old",
                          f"last good backup {float(age):.1f}h ago (limit {max_age_hours:g}h)")]
    return []
