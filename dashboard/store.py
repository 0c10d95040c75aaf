"""The dashboard's only SQL: read-only views of every table, plus the Retry action.

Tables of services that may not be deployed yet (stage_jobs, backup_runs, restore_drills,
panoramas, alert_incidents) are checked with ``to_regclass`` first: their panels say
"not deployed yet" instead of failing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dashboard.status_store import leased_in_flight
from photo_factory import db, operator
from processor.stitch import sets

log = logging.getLogger(__name__)
#: The page queries, plus the verdict's (relations, services, incidents, drill, …): one text each.
QUERIES = db.merge_queries(
    db.load_queries(Path(__file__).with_name("queries.sql")),
    db.load_queries(Path(__file__).with_name("status_queries.sql")),
)
OPTIONAL = ("stage_jobs", "backup_runs", "restore_drills", "panoramas", "alert_incidents", "stage_leases")


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

    def places(self, limit: int = 50) -> list[dict]:
        """The places with the most photos (country, region, city), most first."""
        return self.db.fetchall("places_by_count", {"limit": limit})

    def cameras(self, limit: int = 200) -> list[dict]:
        """The cameras with the most files, most first."""
        return self.db.fetchall("cameras_by_count", {"limit": limit})

    def capture_range(self) -> dict[str, Any]:
        return dict(self.db.fetchone("capture_range") or {})

    def browse(self, params: dict[str, Any], after: tuple[Any, int], limit: int) -> list[dict]:
        """One page of assets matching ``params`` (``Filters.params()``), newest first, after the
        keyset ``after`` = (capture_date, id) of the last row already shown."""
        return self.db.fetchall("browse", {**params, "after_date": after[0], "after_id": after[1],
                                           "limit": limit})

    def located(self, params: dict[str, Any], limit: int = 2000) -> list[dict]:
        """The newest located photos matching ``params`` (lat, lon and place), for the map."""
        return self.db.fetchall("browse_located", {**params, "limit": limit})

    def panoramas(self, present: set[str], limit: int = 12) -> list[dict] | None:
        """Recent panoramas with their frames; None when the stitcher is not deployed."""
        if "panoramas" not in present:
            return None
        return self.db.fetchall("recent_panoramas", {"limit": limit})

    def images_of_day(self, day: Any) -> list[dict]:
        return self.db.fetchall("images_of_day", {"day": day})

    def request_panorama(self, asset_ids: list[int], actor: str = "dashboard") -> int | None:
        """Ask the stitcher to stitch these images (in this order) as one panorama.

        Returns the set's id, or None when the same choice was already asked and is not failed.
        """
        with self.db.transaction() as cur:
            row = sets.record_manual(cur, asset_ids)
            if not row["new"]:
                return None
            operator.record_action(cur, "stitch_panorama", f"panorama:{row['id']}", actor, assets=asset_ids)
        log.info("panorama %s requested from the dashboard: assets %s", row["id"], asset_ids)
        return int(row["id"])

    # -- pipeline ---------------------------------------------------------------------------
    FLAG_STAGES = ("thumbnails", "geocode", "backup")

    def stage_numbers(self, present: set[str]) -> dict[str, Any]:
        """Raw numbers for the Pipeline page (see ``dashboard.stages``); every one from a rollup
        or a partial index, never a count of the whole library."""
        out: dict[str, Any] = {
            "totals": dict(self.db.fetchone("library_totals") or {}),
            "done_today": {r["stage"]: r["n"] for r in self.db.fetchall("stage_done_today")},
            "ingested_today": self.db.fetchone("ingested_today")["n"],  # type: ignore[index]
            "ingested_last_hour": self.db.fetchone("ingested_last_hour")["n"],  # type: ignore[index]
            "quarantine": dict(self.db.fetchone("quarantine_open_count") or {}),
            "jobs": None, "oldest": {}, "panoramas": None,
        }
        if "stage_jobs" in present:
            leased = leased_in_flight(self.db.fetchall, present)
            jobs = {r["stage"]: dict(r) for r in self.db.fetchall("stage_claimed_failed",
                                                                 {"stages": list(self.FLAG_STAGES)})}
            for stage, items in leased.items():
                if stage in jobs:
                    jobs[stage]["claimed"] += len(items)
            out["jobs"] = jobs
            for stage in self.FLAG_STAGES:
                row = self.db.fetchone(f"oldest_pending_{stage}", {"leased": leased.get(stage, [])})
                out["oldest"][stage] = row["ingested_at"] if row else None
        if "panoramas" in present:
            out["panoramas"] = dict(self.db.fetchone("panorama_stage") or {})
        return out

    # -- failed items and Retry ------------------------------------------------------------------
    def quarantine(self, limit: int = 200) -> list[dict]:
        return self.db.fetchall("quarantine_open", {"limit": limit})

    def retry_failed(self, stage: str, asset_ids: list[int], actor: str = "dashboard") -> int:
        """Reset failed items of ``stage`` to pending (engine semantics), wake its workers, audit it."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("retry_stage_jobs"), {"stage": stage, "ids": asset_ids})
            done = [r["asset_id"] for r in cur.fetchall()]
            cur.execute(self.db.sql("notify_stage"), {"stage": stage})
            for asset_id in done:
                operator.record_action(cur, "retry_stage_job", f"{stage}:{asset_id}", actor, stage=stage)
        log.info("retry requested for %d %s item(s): %s", len(done), stage, done)
        return len(done)

    def retry_quarantine(self, ids: list[int], actor: str = "dashboard") -> int:
        """Mark quarantined files ``retry_requested``: the librarian moves them back to the inbox."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("retry_quarantine"), {"ids": ids})
            done = [r["id"] for r in cur.fetchall()]
            for qid in done:
                operator.record_action(cur, "retry_quarantine", f"quarantine:{qid}", actor)
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
