"""``/metrics`` for Prometheus (``PF_METRICS_PORT``), served by the monitor with prometheus_client.

A custom collector reads the verdict's inputs at scrape time (``dashboard.status_store``: counts
over partial indexes, cheap on a million assets) through its own connection, so a scrape never
races the monitor's round and always shows the database as it is now. When the database is down,
``pf_database_up`` is 0 and the rest is left out (never stale numbers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from photo_factory import db

log = logging.getLogger(__name__)
LEVEL_VALUE = {"ok": 0, "warning": 1, "error": 2}


class PipelineCollector(Collector):
    def __init__(self, database_url: str, stale_factor: float):
        from dashboard.status_store import StatusStore

        self.store = StatusStore(database_url, "service-monitor-metrics")
        self.stale_factor = stale_factor
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        from dashboard import status

        up = GaugeMetricFamily("pf_database_up", "1 when factory-db answered this scrape")
        with self._lock:
            try:
                report = status.collect(self.store, self.stale_factor)
                extra = self.store.extra_metrics()
            except db.UNAVAILABLE as exc:
                log.info("metrics: database unavailable: %s", str(exc).strip())
                up.add_metric([], 0)
                yield up
                return
        up.add_metric([], 1)
        yield up
        yield from families(report, extra)


def families(report: dict[str, Any], extra: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """The metric families of one status report (pure: unit-tested without a server)."""
    verdict = GaugeMetricFamily("pf_verdict_level", "0 ok, 1 needs attention, 2 something is wrong")
    verdict.add_metric([], LEVEL_VALUE[report["verdict"]])
    yield verdict
    pending = GaugeMetricFamily("pf_queue_pending", "Items waiting per stage", labels=["stage"])
    for stage, n in report["queues"].items():
        if stage != "jobs":
            pending.add_metric([stage], n)
    in_flight = GaugeMetricFamily("pf_queue_in_flight", "Items claimed by a worker now", labels=["stage"])
    failed = GaugeMetricFamily("pf_stage_failed", "Items failed for good per stage", labels=["stage"])
    for stage, states in (report["queues"].get("jobs") or {}).items():
        pending.add_metric([stage], states.get("pending", 0))
        in_flight.add_metric([stage], states.get("claimed", 0))
        failed.add_metric([stage], states.get("failed", 0))
    yield pending
    yield in_flight
    yield failed
    for name, key, doc in (("pf_failed_items_open", "failed_items", "Failed stage items not acknowledged"),
                           ("pf_quarantined_open", "quarantined", "Quarantined files not acknowledged"),
                           ("pf_acknowledged", "acknowledged", "Acknowledged failures kept")):
        g = GaugeMetricFamily(name, doc)
        g.add_metric([], report.get(key) or 0)
        yield g
    age = GaugeMetricFamily("pf_heartbeat_age_seconds", "Seconds since the service's last heartbeat",
                            labels=["service"])
    up = GaugeMetricFamily("pf_service_up", "1 unless the service is stale, down or in error", labels=["service"])
    rate = GaugeMetricFamily("pf_stage_rate_per_minute", "Items per minute (the worker's own figure)",
                             labels=["service"])
    for s in report["services"]:
        age.add_metric([s["service"]], s["age_s"])
        up.add_metric([s["service"]], 0 if s["status"] in ("stale", "down", "error") else 1)
        if s.get("rate") is not None:
            rate.add_metric([s["service"]], float(s["rate"]))
    yield age
    yield up
    yield rate
    ingested = GaugeMetricFamily("pf_ingested_last_hour", "Files filed into the library in the last hour")
    ingested.add_metric([], extra.get("ingested_last_hour") or 0)
    yield ingested
    backup = GaugeMetricFamily("pf_backup_age_seconds", "Seconds since the last good backup (absent: none yet)")
    if extra.get("backup_age_s") is not None:
        backup.add_metric([], float(extra["backup_age_s"]))
    yield backup
    incidents = GaugeMetricFamily("pf_open_incidents", "Open alert incidents")
    incidents.add_metric([], report.get("open_incidents") or 0)
    yield incidents
    maint = GaugeMetricFamily("pf_maintenance", "1 while the maintenance switch is on")
    maint.add_metric([], 1 if report.get("maintenance") else 0)
    yield maint


def serve(port: int, address: str, database_url: str, stale_factor: float) -> Any:
    """Start the ``/metrics`` HTTP server in a daemon thread; returns (server, thread)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(PipelineCollector(database_url, stale_factor))
    log.info("metrics on http://%s:%d/metrics", address, port)
    return start_http_server(port, addr=address, registry=registry)
