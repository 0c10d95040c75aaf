"""``photo-factory monitor`` and ``photo-factory cleanup``.

One monitor round: check factory-db, Syncthing and disk and beat for them; mark overdue services
stale; turn what is wrong into incidents (open once, resolve once) and send their alert messages;
prune old history when due (daily).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import click

from photo_factory import commands, db, loop
from photo_factory.heartbeat import HeartbeatService
from photo_factory.settings import CoreSettings
from service_monitor import conditions, disk, retention, syncthing
from service_monitor.alerts import Notifier, body, title
from service_monitor.checks import Check
from service_monitor.settings import MonitorSettings
from service_monitor.store import MonitorStore

log = logging.getLogger(__name__)
SERVICE = "service-monitor"


@dataclass
class Monitor:
    core: CoreSettings
    settings: MonitorSettings
    store: MonitorStore
    notifier: Notifier
    last_cleanup: float = field(default=-1e18)
    rounds: int = 0

    def check_db(self) -> Check:
        stats = self.store.db_probe()
        msg = (f"SELECT 1 in {stats['latency_ms']:.1f} ms, {stats['connections']}/{stats['max_connections']}"
               f" connections, {stats['database_bytes'] / 1024**2:.0f} MB")
        status = "degraded" if stats["connections"] > 0.9 * stats["max_connections"] else "ok"
        return Check("factory-db", status, msg, stats)

    def checks(self) -> list[Check]:
        """Run every infrastructure check (Syncthing only when an API key is configured)."""
        found = [self.check_db()]
        s = self.settings
        if s.syncthing_api_key:
            found.append(syncthing.check(s.syncthing_url, s.syncthing_api_key, s.syncthing_folder))
        found.append(disk.check({"storage": self.core.storage_dir, "inbox": self.core.inbox_dir},
                                s.disk_min_free_percent, s.disk_min_free_gb, self.store.disk_before(24.0)))
        return found

    def active_conditions(self, disk_check: Check) -> list[dict[str, str]]:
        s = self.settings
        services = self.store.services()
        backup_seen = any(r["service"] == "backup" for r in services)
        return [
            *conditions.service_conditions(services),
            *conditions.disk_conditions(disk_check.details),
            *conditions.failure_conditions(self.store.failures_last_hour(), s.failures_per_hour),
            *conditions.backup_conditions(self.store.last_good_backup(), s.backup_max_age_hours, backup_seen),
        ]

    def notify(self) -> int:
        """Send every unsent opening and recovery message; return how many went out."""
        sent = 0
        opening, recovery = self.store.claim_notifications()
        for incidents, is_recovery in ((opening, False), (recovery, True)):
            for inc in incidents:
                failed = self.notifier.send(title(inc, is_recovery), body(inc, is_recovery))
                if failed:
                    self.store.notification_failed(inc["id"], is_recovery, "delivery failed: " + ", ".join(failed))
                else:
                    self.store.notification_sent(inc["id"])
                    sent += 1
        return sent

    def work_once(self) -> bool:
        """One round. Always returns False (nothing queued: wait an interval)."""
        s = self.settings
        found = self.checks()
        for c in found:
            self.store.beat_for(c.service, c.status, c.message, c.details, s.monitor_interval_s)
        turned = self.store.mark_stale(s.stale_factor)
        if turned:
            log.warning("stale (no heartbeat for %g intervals): %s", s.stale_factor, ", ".join(turned))
        disk_check = next(c for c in found if c.service == "disk")
        opened, resolved = self.store.sync_incidents(self.active_conditions(disk_check), s.alert_recovery_seconds)
        for key in opened:
            log.warning("incident opened: %s", key)
        for key in resolved:
            log.info("incident resolved: %s", key)
        self.notify()
        if time.monotonic() - self.last_cleanup >= s.cleanup_every_hours * 3600:
            retention.cleanup(self.store, s.retention_days)
            self.last_cleanup = time.monotonic()
        self.rounds += 1
        return False


def build(core: CoreSettings, settings: MonitorSettings) -> Monitor:
    try:
        notifier = Notifier(settings.alert_targets)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return Monitor(core, settings, MonitorStore(core.database_url), notifier)


@click.command()
@click.option("--once", is_flag=True, help="Run one monitor round, then exit.")
def command(once: bool) -> None:
    """Check the database, Syncthing and disks, mark stale services, send alerts, prune history."""
    core = commands.core_settings()
    settings = commands.load_settings(MonitorSettings)
    monitor = build(core, settings)
    stopper = loop.Stopper()
    stopper.install_signal_handlers()

    def body_() -> None:
        db.wait_for(core.database_url, SERVICE, core.db_wait_seconds).close()
        heartbeat = HeartbeatService(core.database_url, SERVICE, core.heartbeat_seconds).start()
        heartbeat.set("ok", "monitoring")
        try:
            loop.run(monitor.work_once, stopper=stopper, heartbeat=heartbeat,
                     idle_seconds=settings.monitor_interval_s, once=once, db_wait_seconds=core.db_wait_seconds)
        finally:
            heartbeat.stop("stopped" if not once else "round done")
            monitor.store.close()

    commands.run_service(SERVICE, body_)


@click.command()
def cleanup_command() -> None:
    """Prune heartbeat history and old resolved incidents past PF_RETENTION_DAYS (default 60)."""
    core = commands.core_settings()
    settings = commands.load_settings(MonitorSettings)

    def body_() -> None:
        store = MonitorStore(core.database_url, "cleanup")
        try:
            pruned = retention.cleanup(store, settings.retention_days)
        finally:
            store.close()
        click.echo(f"pruned {pruned['history']} history rows and {pruned['incidents']} resolved incidents "
                   f"older than {settings.retention_days} days")

    commands.run_service("cleanup", body_)
