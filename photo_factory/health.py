"""``photo-factory healthcheck SERVICE``: the container health check.

A worker is healthy when its heartbeat is fresh: its row was written less than ``grace ×
interval`` seconds ago (the interval the service itself declared) and its status is not
``error``, ``stopping`` or ``stopped``. The row judged is this host's own process
(``service_instances``: the long-running one before any ``--once`` run beside it), else the
service's derived ``system_status`` row. Exit 0 when healthy, 1 when not (with one line
saying why, shown by ``docker inspect``), 2 on a configuration error. It opens one short
connection and never waits for an unreachable database.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import psycopg2

from photo_factory import commands, db, settings

_QUERIES = db.load_queries(Path(__file__).with_name("health_queries.sql"))
UNHEALTHY_STATUSES = ("error", "stopping", "stopped")


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str


def judge(row: dict | None, service: str, grace: float, min_age: float, *, host: str | None = None,
          lease_age: float | None = None) -> Verdict:
    """Decide from a ``freshest_heartbeat`` row (or None) whether ``service`` is healthy.

    Replicas of a stage share one ``system_status`` row (the last writer's). When that row was
    written by another host, this replica is judged by its own stage lease (``lease_age``, the
    age of its ``stage_workers.last_seen``), so a dead replica is not hidden by a live one.
    """
    if row is None:
        return Verdict(False, f"{service}: no heartbeat yet")
    if host is not None and row.get("host") not in (None, host) and lease_age is not None:
        limit = max(grace * float(row["interval_s"]), min_age)
        if lease_age > limit:
            return Verdict(False, f"{service}: this replica's lease is {lease_age:.0f}s old (limit {limit:.0f}s)")
        return Verdict(True, f"{service}: replica alive (lease {lease_age:.0f}s old)")
    limit = max(grace * float(row["interval_s"]), min_age)
    age = float(row["age_s"])
    if age > limit:
        return Verdict(False, f"{service}: heartbeat is {age:.0f}s old (limit {limit:.0f}s)")
    if row["status"] in UNHEALTHY_STATUSES:
        return Verdict(False, f"{service}: status {row['status']}: {row['message']}")
    return Verdict(True, f"{service}: {row['status']}, heartbeat {age:.0f}s old")


def check(database_url: str, service: str, grace: float = 2.5, min_age: float = 15.0) -> Verdict:
    """Read the service's freshest heartbeat and judge it; an unreachable database is unhealthy."""
    store = db.Database(database_url, f"{service}-healthcheck", _QUERIES)
    try:
        host = socket.gethostname()
        own = store.fetchone("own_instance", {"service": service, "host": host})
        if own is not None:
            return judge(own, service, grace, min_age)
        row = store.fetchone("freshest_heartbeat", {"service": service, "host": host})
        lease = store.fetchone("replica_lease", {"service": service, "host": host})
    except db.UNAVAILABLE as exc:
        return Verdict(False, f"{service}: database unreachable: {str(exc).strip()}")
    except psycopg2.Error as exc:  # e.g. the schema is not migrated yet
        return Verdict(False, f"{service}: cannot read system_status: {str(exc).strip()}")
    finally:
        store.close()
    return judge(row, service, grace, min_age, host=host, lease_age=lease["age_s"] if lease else None)


@click.command()
@click.argument("service")
@click.option("--grace", type=float, default=2.5, show_default=True,
              help="Healthy while the heartbeat is younger than GRACE x the service's interval.")
@click.option("--min-age", type=float, default=15.0, show_default=True,
              help="Never call a heartbeat stale before this many seconds.")
def command(service: str, grace: float, min_age: float) -> None:
    """Exit 0 when SERVICE's heartbeat is fresh (the Docker health check), 1 otherwise."""
    core = commands.load_settings(settings.CoreSettings)
    verdict = check(core.database_url, service, grace, min_age)
    click.echo(verdict.reason)
    sys.exit(0 if verdict.healthy else 1)
