"""The verdict's only SQL: what ``photo-factory status``, the Overview and the monitor's digest
fold into one verdict. Cheap on a million assets: counts over partial indexes, never a
whole-table aggregate (bench/status measures it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("status_queries.sql"))
OPTIONAL = ("stage_jobs", "restore_drills", "alert_incidents", "maintenance", "backup_runs", "stage_leases")
#: Flag queues are counted exactly up to this; above it the partial index's size (as the last
#: vacuum or analyze counted it) is shown as an estimate ("≈"): exact to the file does not matter
#: for a queue of 20,000, and counting a million index entries costs ~0.5 s.
COUNT_CAP = 20_000
FLAG_INDEX = {"thumbnails": "media_assets_pending_thumbnails", "geocode": "media_assets_pending_geocode",
              "backup": "media_assets_pending_backup"}


class StatusStore:
    def __init__(self, database_url: str, application_name: str = "status"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    def snapshot(self) -> dict[str, Any]:
        """Every input of the verdict, read in one transaction (one consistent picture)."""
        out: dict[str, Any] = {}
        with self.db.transaction() as cur:
            def run(name: str, params: dict | None = None) -> list[dict]:
                cur.execute(self.db.sql(name), params or {})
                return list(cur.fetchall())

            present = {r["name"] for r in run("relations", {"names": list(OPTIONAL)}) if r["present"]}
            out["services"] = run("services")
            out["incidents"] = run("open_incidents") if "alert_incidents" in present else []
            out["failed"] = run("failed_counts")[0] if "stage_jobs" in present else {"open": 0, "total": 0}
            out["quarantine"] = run("quarantine_counts")[0]
            flags = {k: int(v) for k, v in run("pending_flags", {"cap": COUNT_CAP})[0].items()}
            out["approximate"] = sorted(k for k, v in flags.items() if v >= COUNT_CAP)
            if out["approximate"]:
                estimates = {r["index"]: int(r["n"]) for r in run("pending_estimates")}
                for k in out["approximate"]:
                    flags[k] = max(COUNT_CAP, estimates.get(FLAG_INDEX[k], 0))
            out["flags"] = flags
            jobs: dict[str, dict[str, int]] = {}
            if "stage_jobs" in present:
                for r in run("stage_job_counts"):
                    jobs.setdefault(r["stage"], {})[r["state"]] = int(r["n"])
                for stage, items in leased_in_flight(run, present).items():
                    counts = jobs.setdefault(stage, {})
                    counts["pending"] = counts.get("pending", 0) - len(items)
                    counts["claimed"] = counts.get("claimed", 0) + len(items)
            out["jobs"] = jobs
            drills = run("last_restore_drill") if "restore_drills" in present else []
            out["drill"] = drills[0] if drills else None
            m = run("maintenance") if "maintenance" in present else []
            out["maintenance"] = m[0] if m else None
        return out

    def extra_metrics(self) -> dict[str, Any]:
        """What /metrics adds to the verdict: files ingested in the last hour, the backup's age."""
        present = {r["name"] for r in self.db.fetchall("relations", {"names": list(OPTIONAL)}) if r["present"]}
        out: dict[str, Any] = {"ingested_last_hour": int(self.db.fetchone("ingested_last_hour")["n"])}  # type: ignore[index]
        row = self.db.fetchone("backup_age") if "backup_runs" in present else None
        out["backup_age_s"] = None if row is None or row["age_s"] is None else float(row["age_s"])
        return out

    def ingested_since_hours(self, hours: float) -> int:
        return int(self.db.fetchone("ingested_since", {"hours": hours})["n"])  # type: ignore[index]


def leased_in_flight(run: Callable[..., list[dict]], present: set[str]) -> dict[str, list[int]]:
    """Per batch stage, the items of its leases still waiting for their outcome (in flight,
    though their job rows say ``pending``); nothing before migration 0026."""
    out: dict[str, list[int]] = {}
    if "stage_leases" in present:
        for r in run("leased_in_flight"):
            out.setdefault(r["stage"], []).append(int(r["asset_id"]))
    return out
