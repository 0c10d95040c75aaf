"""``photo-factory monitor`` and ``photo-factory cleanup``.

One monitor round: check factory-db, Syncthing and disk and beat for them; mark overdue services
stale; turn what is wrong into incidents (open once, resolve once; services that fail because
the disk or the database does are folded into that root incident) and send their alert messages,
a reminder every PF_ALERT_REPEAT_HOURS while a problem lasts, none while maintenance is on; ping
the dead-man's URL; send the daily digest when due; prune old history when due (daily).
A database that does not answer is alerted once, from memory (``outage.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from photo_factory import commands, db, loop
from photo_factory.heartbeat import HeartbeatService
from photo_factory.settings import CoreSettings
from service_monitor import conditions, digest, disk, retention, rootcause, syncthing
from service_monitor.alerts import Notifier, body, reminder, title
from service_monitor.checks import Check
from service_monitor.deadman import Pinger
from service_monitor.outage import Outage
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
    #: The wall clock for reminders and the digest (tests inject one; None: the database's now()).
    clock: Callable[[], datetime | None] = lambda: None
    outage: Outage = field(init=False)
    pinger: Pinger = field(init=False)
    maintenance: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self.outage = Outage(self.notifier.send, confirm_s=s.alert_db_confirm_seconds,
                             grace_s=s.stale_factor * max(s.monitor_interval_s, self.core.heartbeat_seconds))
        self.pinger = Pinger(s.healthcheck_ping_url, s.healthcheck_fail_url, s.healthcheck_timeout_s)

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
        # a backup service that beats a setup hint (no remote yet) is not deployed: no "no good backup"
        backup_seen = any(r["service"] == "backup" and not (r.get("details") or {}).get("setup_hint")
                          for r in services)
        return [
            *conditions.service_conditions(services),
            *conditions.disk_conditions(disk_check.details),
            *conditions.failure_conditions(self.store.failures_last_hour(), s.failures_per_hour),
            *conditions.backup_conditions(self.store.last_good_backup(), s.backup_max_age_hours, backup_seen),
        ]

    def notify(self) -> int:
        """Send every unsent opening, recovery and reminder message; return how many went out.

        While maintenance is on nothing is sent: openings wait for its end (if the problem still
        lasts then), problems that came and went meanwhile are kept as ``held``."""
        self.store.hold_unsent_resolved()
        if self.maintenance is not None:
            return 0
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
        if self.settings.alert_repeat_hours > 0:
            for inc in self.store.claim_reminders(self.settings.alert_repeat_hours * 3600, self.clock()):
                failed = self.notifier.send(*reminder(inc))
                if failed:
                    self.store.reminder_failed(inc, None, "reminder failed: " + ", ".join(failed))
                else:
                    sent += 1
        return sent

    def send_digest(self, report_of: Callable[[], dict[str, Any]] | None = None) -> bool:
        """The daily digest, once a day (whatever the number of monitors), when configured."""
        hour = self.settings.alert_digest_hour
        if hour is None or not self.notifier.urls:
            return False
        start = digest.period_start(self.clock() or datetime.now(UTC), hour, self.core.timezone)
        if start is None or not self.store.claim_mark("digest", start):
            return False
        report = (report_of or self.status_report)()
        failed = self.notifier.send(*digest.text(report, report.get("ingested_24h", 0)))
        return not failed

    def status_report(self) -> dict[str, Any]:
        from dashboard import status, status_store

        store = status_store.StatusStore(self.core.database_url, "service-monitor-digest")
        try:
            report = status.collect(store, self.settings.stale_factor)
            report["ingested_24h"] = store.ingested_since_hours(24)
            return report
        finally:
            store.close()

    def ping(self, fine: bool) -> None:
        self.pinger.ping(fine)

    def work_once(self) -> bool:
        """One round. Always returns False (nothing queued: wait an interval). A database that
        does not answer is the outage's business (one root alert), then the loop's (backoff)."""
        try:
            self.round()
        except db.UNAVAILABLE as exc:
            self.outage.failed(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            self.ping(self.outage.held)
            raise
        return False

    def round(self) -> None:
        s = self.settings
        found = self.checks()  # factory-db first: raises when it does not answer
        leader = self.store.is_leader()
        back = self.outage.recovered()
        if back is not None and (back[2] or leader):
            self.store.record_outage(*back)
        self.outage.was_leader = leader
        self.maintenance = self.store.maintenance()
        self.outage.held = self.maintenance is not None
        for c in found:
            self.store.beat_for(c.service, c.status, c.message, c.details, s.monitor_interval_s)
        turned = self.store.mark_stale(s.stale_factor)
        if turned:
            log.warning("stale (no heartbeat for %g intervals): %s", s.stale_factor, ", ".join(turned))
        disk_check = next(c for c in found if c.service == "disk")
        active = rootcause.fold(self.active_conditions(disk_check), after_outage=self.outage.in_grace())
        opened, resolved = self.store.sync_incidents(active, s.alert_recovery_seconds)
        for key in opened:
            log.warning("incident opened: %s", key)
        for key in resolved:
            log.info("incident resolved: %s", key)
        if self.maintenance is not None and opened:
            log.info("maintenance on: alerts held for %s", ", ".join(opened))
        self.notify()
        self.send_digest()
        self.ping(self.maintenance is not None or not self.store.open_incidents())
        if time.monotonic() - self.last_cleanup >= s.cleanup_every_hours * 3600:
            retention.cleanup(self.store, s.retention_days)
            self.last_cleanup = time.monotonic()
        self.rounds += 1


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
        if settings.metrics_port and not once:
            from service_monitor import metrics

            metrics.serve(settings.metrics_port, settings.metrics_address, core.database_url, settings.stale_factor)
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
