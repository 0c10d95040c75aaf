"""Retention: prune heartbeat history (and old resolved incidents) past the retention period."""

from __future__ import annotations

import logging

from service_monitor.store import MonitorStore

log = logging.getLogger(__name__)


def cleanup(store: MonitorStore, retention_days: int) -> dict[str, int]:
    """Delete ``system_status_history`` rows and notified, resolved incidents older than the period."""
    history = store.prune_history(retention_days)
    incidents = store.prune_incidents(retention_days)
    store.prune_instances(min(retention_days, 7))  # per-process heartbeat rows of processes long gone
    log.info("retention: pruned %d history rows and %d resolved incidents older than %d days",
             history, incidents, retention_days)
    return {"history": history, "incidents": incidents}
