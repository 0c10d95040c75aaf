"""``photo-factory status``: the dashboard's verdict, services and queues in the terminal.

Exit 0 when everything is fine, 1 when something needs attention or is wrong (or the
database is unreachable), 2 for a configuration error.
"""

from __future__ import annotations

import json
import sys

import click

from dashboard import verdict
from dashboard.format import DOT, age
from dashboard.settings import DashboardSettings
from dashboard.store import DashboardStore
from photo_factory import commands, db


def collect(store: DashboardStore, stale_factor: float) -> dict:
    """Everything the status report shows, as plain data (also the ``--json`` output)."""
    present = store.present()
    services = verdict.with_effective(store.services(), stale_factor)
    failed = store.failed_items(present, limit=1000)
    quarantined = sum(r["files"] for r in store.library(recent=0)["quarantine"] if r["status"] == "quarantined")
    v = verdict.overall(services, store.open_incidents(present), len(failed), quarantined, store.last_drill(present))
    pipeline = store.pipeline(present)
    return {"verdict": v.level, "headline": v.headline, "problems": v.problems,
            "services": [{"service": s["service"], "status": s["effective"], "age_s": round(float(s["age_s"])),
                          "message": s["message"]} for s in services],
            "queues": {**pipeline["flags"], **({"jobs": pipeline["jobs"]} if pipeline["jobs"] else {})},
            "failed_items": len(failed), "quarantined": quarantined}


def render(report: dict) -> str:
    lines = [f"{DOT[report['verdict']]} {report['headline']}"]
    lines += [f"  - {p}" for p in report["problems"]]
    lines.append("")
    lines.append(f"{'SERVICE':18} {'STATUS':10} {'AGE':>5}  MESSAGE")
    for s in report["services"]:
        lines.append(f"{s['service']:18} {s['status']:10} {age(s['age_s']):>5}  {s['message'][:70]}")
    lines.append("")
    q = report["queues"]
    lines.append("queues: " + ", ".join(f"{k} {v}" for k, v in q.items() if k != "jobs")
                 + f"; failed items {report['failed_items']}; quarantined {report['quarantined']}")
    return "\n".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def status_command(as_json: bool) -> None:
    """Show the overall verdict, every service and the queues; exit 1 when something is wrong."""
    core = commands.core_settings()
    settings = commands.load_settings(DashboardSettings)
    store = DashboardStore(core.database_url, "status")
    try:
        report = collect(store, settings.stale_factor)
    except db.UNAVAILABLE as exc:
        click.echo(f"{DOT['error']} Something is wrong\n  - factory-db unreachable: {str(exc).strip()}")
        sys.exit(1)
    finally:
        store.close()
    click.echo(json.dumps(report, default=str, indent=2) if as_json else render(report))
    sys.exit(0 if report["verdict"] == "ok" else 1)
