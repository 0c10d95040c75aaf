"""Alert delivery through apprise: one message when an incident opens, one when it recovers.

Targets are apprise URLs (``mailto://``, ``discord://``, ``slack://``, ``json://host/path``, …).
A message that cannot be delivered is retried at the next monitor round; the incident row keeps
the error, so a broken alert target is visible on the dashboard.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import apprise

from service_monitor.rootcause import duration

log = logging.getLogger(__name__)
PREFIX = "[Photo Factory]"


def title(incident: dict[str, Any], recovery: bool) -> str:
    word = "RESOLVED" if recovery else ("PROBLEM" if incident["severity"] == "error" else "WARNING")
    return f"{PREFIX} {word}: {incident['subject']}"


def body(incident: dict[str, Any], recovery: bool) -> str:
    opened: datetime = incident["opened_at"]
    if recovery and incident.get("resolved_at"):
        lasted = duration((incident["resolved_at"] - opened).total_seconds())
        return f"Recovered after {lasted}: {incident['subject']}.\n({incident['message']})"
    return f"{incident['message']}\nSince {opened:%Y-%m-%d %H:%M:%S %Z} (incident #{incident['id']})."


def reminder(incident: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of a reminder: the problem still lasts."""
    lasted = duration(float(incident["lasted_s"]))
    return (f"{PREFIX} STILL A PROBLEM: {incident['subject']}",
            f"Still a problem after {lasted} (reminder {incident['reminders']}): {incident['message']}\n"
            f"Since {incident['opened_at']:%Y-%m-%d %H:%M:%S %Z} (incident #{incident['id']}).")


class Notifier:
    """Sends one message to every configured apprise URL."""

    def __init__(self, urls: list[str]):
        self.urls = urls
        self._targets: list[tuple[str, apprise.Apprise]] = []
        for url in urls:
            ap = apprise.Apprise()
            if not ap.add(url):
                raise ValueError(f"PF_ALERT_URLS: not a valid apprise URL: {url.split('://')[0]}://…")
            self._targets.append((ap[0].url(privacy=True), ap))

    def send(self, subject: str, text: str) -> list[str]:
        """Deliver to every target; return the (credential-masked) targets that failed."""
        failed = []
        for shown, ap in self._targets:
            if not ap.notify(title=subject, body=text):
                log.warning("alert delivery failed: %s", shown)
                failed.append(shown)
        return failed
