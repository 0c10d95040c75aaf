"""The daily digest (``PF_ALERT_DIGEST_HOUR``): one message a day with the verdict and the day's
numbers, for users who want to hear that all is well too. Sent once a day whatever the number of
monitors (``monitor_marks``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def period_start(now: datetime, hour: int, tz: str) -> datetime | None:
    """The digest time due now (today's ``hour`` in ``tz``), or None before it."""
    local = now.astimezone(ZoneInfo(tz))
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return due if local >= due else None


def text(report: dict[str, Any], ingested_24h: int) -> tuple[str, str]:
    """(title, body) of the digest from a ``dashboard.status.collect`` report."""
    title = f"[Photo Factory] daily digest: {report['headline']}"
    lines = [f"{report['headline']} ({report['verdict']})"]
    lines += [f"- {p}" for p in report["problems"]]
    lines += [f"· {n}" for n in report.get("notes", [])]
    q = report["queues"]
    lines.append(f"Ingested in the last 24 h: {ingested_24h}. Queues: "
                 + ", ".join(f"{k} {v}" for k, v in q.items() if k != "jobs")
                 + f". Failed items {report['failed_items']}, quarantined {report['quarantined']}, "
                   f"acknowledged {report.get('acknowledged', 0)}.")
    return title, "\n".join(lines)


def next_after(start: datetime) -> datetime:
    return start + timedelta(days=1)
