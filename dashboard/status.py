"""``photo-factory status``: the dashboard's verdict, services and queues in the terminal.

Exit 0 when everything is fine, 1 when something needs attention or is wrong (or the
database is unreachable), 2 for a configuration error. :func:`collect` is also the Overview's
verdict, so the terminal and the dashboard never disagree.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

from dashboard import docker_state, verdict
from dashboard.format import DOT, age
from dashboard.settings import DashboardSettings
from dashboard.status_store import StatusStore
from photo_factory import commands, db


def docker_available(settings: DashboardSettings) -> bool:
    """Ask Docker only where one may answer (a configured URL, DOCKER_HOST or the local socket)."""
    return bool(settings.docker_url or os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock"))


def collect(store: StatusStore, stale_factor: float, docker: docker_state.DockerSnapshot | None = None) -> dict:
    """Everything the status report shows, as plain data (also the ``--json`` output)."""
    snap = store.snapshot()
    containers = docker.containers if docker is not None and docker.available else None
    services = verdict.with_effective(snap["services"], stale_factor, containers)
    failed, quarantine = snap["failed"], snap["quarantine"]
    acknowledged = int(failed["total"] - failed["open"]) + int(quarantine["total"] - quarantine["open"])
    v = verdict.overall(services, snap["incidents"], int(failed["open"]), int(quarantine["open"]), snap["drill"],
                        acknowledged=acknowledged, unprotected=snap["flags"].get("backup"),
                        maintenance=snap["maintenance"])
    m = snap["maintenance"]
    return {"verdict": v.level, "headline": v.headline, "problems": v.problems, "notes": v.notes,
            "services": [{"service": s["service"], "status": s["effective"], "age_s": round(float(s["age_s"])),
                          "message": s["message"], "instances": (s.get("details") or {}).get("instances"),
                          "rate": (s.get("details") or {}).get("rate")}
                         for s in services],
            "queues": {**snap["flags"], **({"jobs": snap["jobs"]} if snap["jobs"] else {})},
            "approximate": snap.get("approximate", []),
            "failed_items": int(failed["open"]), "quarantined": int(quarantine["open"]),
            "acknowledged": acknowledged, "open_incidents": len(snap["incidents"]),
            "maintenance": None if m is None else {"until": m["until"], "reason": m["reason"], "set_by": m["set_by"]},
            "docker": None if docker is None else (docker.available or docker.reason)}


def render(report: dict[str, Any]) -> str:
    lines = [f"{DOT[report['verdict']]} {report['headline']}"]
    lines += [f"  - {p}" for p in report["problems"]]
    lines += [f"  · {n}" for n in report.get("notes", [])]
    lines.append("")
    lines.append(f"{'SERVICE':18} {'STATUS':14} {'AGE':>5}  MESSAGE")
    for s in report["services"]:
        lines.append(f"{s['service']:18} {s['status']:14} {age(s['age_s']):>5}  {s['message'][:70]}")
    lines.append("")
    q = report["queues"]
    approx = set(report.get("approximate", []))
    lines.append("queues: " + ", ".join(f"{k} {'≈' if k in approx else ''}{v}" for k, v in q.items() if k != "jobs")
                 + f"; failed items {report['failed_items']}; quarantined {report['quarantined']}"
                 + (f"; acknowledged {report['acknowledged']}" if report.get("acknowledged") else ""))
    return "\n".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def status_command(as_json: bool) -> None:
    """Show the overall verdict, every service and the queues; exit 1 when something is wrong."""
    core = commands.core_settings()
    settings = commands.load_settings(DashboardSettings)
    store = StatusStore(core.database_url, "status")
    logging.getLogger("dashboard.docker_state").setLevel(logging.WARNING)  # stdout is the report
    docker = (docker_state.snapshot(settings.docker_url, settings.compose_project)
              if docker_available(settings) else None)
    try:
        report = collect(store, settings.stale_factor, docker)
    except db.UNAVAILABLE as exc:
        click.echo(f"{DOT['error']} Something is wrong\n  - factory-db unreachable: {str(exc).strip()}")
        sys.exit(1)
    finally:
        store.close()
    click.echo(json.dumps(report, default=str, indent=2) if as_json else render(report))
    sys.exit(0 if report["verdict"] == "ok" else 1)
