"""The service-monitor's only SQL: beats for infrastructure, staleness, incidents, retention."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))


class MonitorStore:
    """Named queries of the monitor over one lazily (re)opened connection."""

    def __init__(self, database_url: str, application_name: str = "service-monitor"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    # -- factory-db ---------------------------------------------------------------
    def db_probe(self) -> dict[str, Any]:
        """Round-trip ``SELECT 1`` (latency in ms) plus server version, connections and size."""
        start = time.perf_counter()
        self.db.fetchone("ping")
        latency_ms = (time.perf_counter() - start) * 1000
        stats = dict(self.db.fetchone("db_stats") or {})
        stats["latency_ms"] = round(latency_ms, 2)
        return stats

    # -- beats ----------------------------------------------------------------------
    def beat_for(self, service: str, status: str, message: str, details: dict, interval_s: float) -> None:
        """Write a heartbeat on behalf of ``service`` (status row + history row)."""
        params = {"service": service, "status": status, "message": message[:1000],
                  "details": db.json(details), "interval_s": interval_s, "host": socket.gethostname()}
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("beat_for"), params)
            cur.execute(self.db.sql("beat_for_history"), params)

    def mark_stale(self, stale_factor: float) -> list[str]:
        """Turn overdue services stale; return the services that turned stale now."""
        return [r["service"] for r in self.db.fetchall("mark_stale", {"stale_factor": stale_factor})]

    def services(self) -> list[dict]:
        return self.db.fetchall("services")

    def disk_before(self, hours: float = 24.0) -> dict | None:
        return self.db.fetchone("disk_used_before", {"hours": hours})

    # -- conditions -------------------------------------------------------------------
    def has_relation(self, name: str) -> bool:
        row = self.db.fetchone("relation_exists", {"name": name})
        return bool(row and row["present"])

    def failures_last_hour(self) -> int:
        """Quarantined/errored ingests plus stage jobs that failed for good, in the last hour."""
        n = int(self.db.fetchone("failures_last_hour_ingest")["n"])  # type: ignore[index]
        if self.has_relation("stage_jobs"):
            n += int(self.db.fetchone("failures_last_hour_stages")["n"])  # type: ignore[index]
        return n

    def last_good_backup(self) -> dict | None:
        """``{finished_at, age_hours, first_run}`` or None when no backup is deployed yet."""
        if not self.has_relation("backup_runs"):
            return None
        return self.db.fetchone("last_good_backup")

    # -- incidents ------------------------------------------------------------------------
    def sync_incidents(self, active: list[dict], quiet_s: float = 0.0) -> tuple[list[str], list[str]]:
        """Open incidents for new conditions, resolve those gone for ``quiet_s`` seconds; return
        (opened, resolved) keys."""
        keys = [c["key"] for c in active]
        opened: list[str] = []
        with self.db.transaction() as cur:
            for cond in active:
                cur.execute(self.db.sql("open_incident"), cond)
                row = cur.fetchone()
                if row:
                    opened.append(row["key"])
            cur.execute(self.db.sql("touch_incidents"), {"keys": keys})
            cur.execute(self.db.sql("resolve_missing"), {"keys": keys, "quiet_s": quiet_s})
            resolved = [r["key"] for r in cur.fetchall()]
        return opened, resolved

    def claim_notifications(self) -> tuple[list[dict], list[dict]]:
        """Claim unsent (opening, recovery) messages; unclaim with :meth:`notification_failed`."""
        return self.db.fetchall("claim_open_notifications"), self.db.fetchall("claim_resolve_notifications")

    def notification_failed(self, incident_id: int, recovery: bool, error: str) -> None:
        name = "unclaim_resolve_notification" if recovery else "unclaim_open_notification"
        self.db.execute(name, {"id": incident_id, "error": error[:1000]})

    def notification_sent(self, incident_id: int) -> None:
        self.db.execute("mark_notified", {"id": incident_id})

    def open_incidents(self) -> list[dict]:
        return self.db.fetchall("open_incidents")

    # -- retention ------------------------------------------------------------------------
    def prune_history(self, days: int, batch: int = 10_000) -> int:
        """Delete history older than ``days`` in batches; return the number of rows deleted."""
        total = 0
        while True:
            n = self.db.execute("prune_history", {"days": days, "batch": batch})
            total += n
            if n < batch:
                return total

    def prune_incidents(self, days: int) -> int:
        return self.db.execute("prune_incidents", {"days": days})

    # -- reminders, maintenance, leadership, marks (issue 13) ------------------------------
    def claim_reminders(self, repeat_s: float, now: Any = None) -> list[dict]:
        """Claim one reminder for each problem still open ``repeat_s`` after its last message."""
        return self.db.fetchall("claim_reminders", {"repeat_s": repeat_s, "now": now})

    def reminder_failed(self, incident: dict, previous: Any, error: str) -> None:
        self.db.execute("unclaim_reminder", {"id": incident["id"], "previous": previous, "error": error[:1000]})

    def hold_unsent_resolved(self) -> list[dict]:
        return self.db.fetchall("hold_unsent_resolved")

    def maintenance(self) -> dict | None:
        """The maintenance switch while on (None when off, expired, or not migrated yet)."""
        return self.db.fetchone("maintenance") if self.has_relation("maintenance") else None

    def is_leader(self) -> bool:
        row = self.db.fetchone("leader")
        return bool(row and row["leader"])

    def record_outage(self, since: Any, message: str, told: bool) -> None:
        self.db.execute("record_outage", {"since": since, "message": message[:1000], "told": told})

    def claim_mark(self, name: str, since: Any) -> bool:
        """True for the one monitor that claims ``name`` for the period starting ``since``."""
        return self.db.fetchone("claim_mark", {"name": name, "since": since}) is not None

    def prune_instances(self, days: int) -> int:
        return self.db.execute("prune_instances", {"days": days})
