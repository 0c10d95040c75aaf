"""The dashboard's only SQL: read-only views of every table, plus the Retry action.

Tables of services that may not be deployed yet (stage_jobs, backup_runs, restore_drills,
panoramas, alert_incidents) are checked with ``to_regclass`` first: their panels say
"not deployed yet" instead of failing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from photo_factory import db

log = logging.getLogger(__name__)
QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))
OPTIONAL = ("stage_jobs", "backup_runs", "restore_drills", "panoramas", "alert_incidents")


class DashboardStore:
    def __init__(self, database_url: str, application_name: str = "dashboard"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    # -- what is deployed -------------------------------------------------------------
    def present(self) -> set[str]:
        """Which optional tables exist."""
        rows = self.db.fetchall("relations", {"names": list(OPTIONAL)})
        return {r["name"] for r in rows if r["present"]}

    # -- services -----------------------------------------------------------------------
    def services(self) -> list[dict]:
        return self.db.fetchall("services")

    def service_history(self, service: str, hours: float = 24, limit: int = 500) -> list[dict]:
        return self.db.fetchall("service_history", {"service": service, "hours": hours, "limit": limit})

    def uptime(self, hours: float = 24 * 7) -> list[dict]:
        return self.db.fetchall("uptime", {"hours": hours})

    def ingest_volume(self, hours: float = 24 * 7) -> list[dict]:
        return self.db.fetchall("ingest_volume", {"hours": hours})

    def open_incidents(self, present: set[str]) -> list[dict]:
        return self.db.fetchall("open_incidents") if "alert_incidents" in present else []

    # -- library --------------------------------------------------------------------------
    def library(self, recent: int = 12) -> dict[str, Any]:
        """Counts by type and month, bytes, recent assets, ingest totals, quarantine by reason."""
        return {
            "by_type": self.db.fetchall("library_by_type"),
            "by_month": self.db.fetchall("library_by_month"),
            "recent": self.db.fetchall("recent_assets", {"limit": recent}),
            "totals": {r["kind"]: r["n"] for r in self.db.fetchall("ingest_totals")},
            "quarantine": self.db.fetchall("quarantine_by_reason"),
        }

    # -- pipeline ---------------------------------------------------------------------------
    def pipeline(self, present: set[str]) -> dict[str, Any]:
        """Per stage: queue (pending), in_flight, failed; ``stage_jobs`` None when not deployed."""
        flags = self.db.fetchone("pending_flags") or {}
        jobs: dict[str, dict[str, int]] | None = None
        if "stage_jobs" in present:
            jobs = {}
            for r in self.db.fetchall("stage_job_counts"):
                jobs.setdefault(r["stage"], {})[r["state"]] = r["n"]
        out: dict[str, Any] = {
            "flags": dict(flags), "jobs": jobs,
            "ingested_last_hour": self.db.fetchone("ingested_last_hour")["n"],  # type: ignore[index]
            "panoramas": None,
        }
        if "panoramas" in present:
            out["panoramas"] = {r["status"]: r["n"] for r in self.db.fetchall("panorama_counts")}
        return out

    # -- failed items and Retry ------------------------------------------------------------------
    def failed_items(self, present: set[str], limit: int = 200) -> list[dict]:
        items: list[dict] = []
        if "stage_jobs" in present:
            items += self.db.fetchall("failed_stage_jobs", {"limit": limit})
        return items

    def quarantine(self, limit: int = 200) -> list[dict]:
        return self.db.fetchall("quarantine_open", {"limit": limit})

    def retry_failed(self, stage: str, asset_ids: list[int], actor: str = "dashboard") -> int:
        """Reset failed items of ``stage`` to pending (engine semantics), wake its workers, audit it."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("retry_stage_jobs"), {"stage": stage, "ids": asset_ids})
            done = [r["asset_id"] for r in cur.fetchall()]
            cur.execute(self.db.sql("notify_stage"), {"stage": stage})
            for asset_id in done:
                cur.execute(self.db.sql("record_action"), {"action": "retry_stage_job", "target":
                            f"{stage}:{asset_id}", "actor": actor, "detail": db.json({"stage": stage})})
        log.info("retry requested for %d %s item(s): %s", len(done), stage, done)
        return len(done)

    def retry_quarantine(self, ids: list[int], actor: str = "dashboard") -> int:
        """Mark quarantined files ``retry_requested``: the librarian moves them back to the inbox."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("retry_quarantine"), {"ids": ids})
            done = [r["id"] for r in cur.fetchall()]
            for qid in done:
                cur.execute(self.db.sql("record_action"), {"action": "retry_quarantine",
                            "target": f"quarantine:{qid}", "actor": actor, "detail": db.json({})})
        log.info("retry requested for quarantined file(s): %s", done)
        return len(done)

    def recent_actions(self) -> list[dict]:
        return self.db.fetchall("recent_actions")

    # -- backup ------------------------------------------------------------------------------------
    def last_drill(self, present: set[str]) -> dict[str, Any] | None:
        """The last finished restore drill (for the verdict), or None."""
        return self.db.fetchone("last_restore_drill") if "restore_drills" in present else None

    def backup(self, present: set[str]) -> dict[str, Any] | None:
        """Freshness, last runs and the last restore drill; None when backup is not deployed."""
        if "backup_runs" not in present:
            return None
        return {
            "freshness": self.db.fetchone("backup_freshness"),
            "runs": self.db.fetchall("backup_last_runs", {"limit": 10}),
            "drill": self.db.fetchone("last_restore_drill") if "restore_drills" in present else None,
        }
