"""The monitor against real Postgres, a real webhook receiver and a real SMTP server (loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_monitor.service import build
from service_monitor.settings import MonitorSettings

from photo_factory.settings import CoreSettings
from tests.support.monitoring_samples import (
    SmtpReceiver,
    WebhookReceiver,
    fetch,
    free_port,
    seed_heartbeat,
    seed_quarantine,
)

pytestmark = pytest.mark.integration


def make_monitor(database_url: str, storage: dict[str, Path], **overrides):
    core = CoreSettings(database_url=database_url, inbox_dir=storage["inbox"], storage_dir=storage["storage"])
    settings = MonitorSettings(**{"disk_min_free_percent": 0.0, "disk_min_free_gb": 0.0,
                                  "alert_recovery_seconds": 0.0, **overrides})
    return build(core, settings)


def status_of(url: str, service: str) -> dict:
    return fetch(url, "SELECT * FROM system_status WHERE service = %s", (service,))[0]


def test_it_beats_for_the_database_and_the_disks(database_url, storage):
    monitor = make_monitor(database_url, storage)
    monitor.work_once()
    db_row = status_of(database_url, "factory-db")
    assert db_row["status"] == "ok"
    assert db_row["details"]["latency_ms"] >= 0
    assert db_row["details"]["database_bytes"] > 0
    disk_row = status_of(database_url, "disk")
    assert disk_row["status"] == "ok"
    assert set(disk_row["details"]) >= {"storage", "inbox"}


def test_a_volume_below_the_free_space_limit_is_an_error_and_an_incident(database_url, storage):
    monitor = make_monitor(database_url, storage, disk_min_free_percent=100.0)
    monitor.work_once()
    assert status_of(database_url, "disk")["status"] == "error"
    keys = {i["key"] for i in monitor.store.open_incidents()}
    assert {"disk:storage", "disk:inbox"} <= keys


def test_an_overdue_service_turns_stale_once(database_url, storage):
    seed_heartbeat(database_url, "librarian", age_s=400, interval_s=60)
    seed_heartbeat(database_url, "thumbnails", age_s=100, interval_s=60)
    monitor = make_monitor(database_url, storage, stale_factor=3)
    monitor.work_once()
    monitor.work_once()
    assert status_of(database_url, "librarian")["status"] == "stale"
    assert status_of(database_url, "thumbnails")["status"] == "ok"
    history = fetch(database_url, "SELECT status FROM system_status_history WHERE service = 'librarian' "
                                  "AND status = 'stale'")
    assert len(history) == 1


def test_an_incident_sends_one_message_and_one_on_recovery_by_webhook_and_email(database_url, storage):
    seed_heartbeat(database_url, "librarian", age_s=400, interval_s=60)
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        monitor = make_monitor(database_url, storage, alert_urls=f"{hook.url}, {smtp.url}")
        for _ in range(3):
            monitor.work_once()
        assert hook.titles() == ["[Photo Factory] PROBLEM: librarian is stale"]
        assert smtp.subjects() == ["[Photo Factory] PROBLEM: librarian is stale"]
        seed_heartbeat(database_url, "librarian", age_s=0, interval_s=60)
        monitor.work_once()
        monitor.work_once()
        assert hook.titles()[1:] == ["[Photo Factory] RESOLVED: librarian is stale"]
        assert len(smtp.messages) == 2


def test_an_undeliverable_alert_is_kept_and_retried(database_url, storage):
    seed_heartbeat(database_url, "librarian", status="error", message="exiftool died")
    port = free_port()
    monitor = make_monitor(database_url, storage, alert_urls=f"json://127.0.0.1:{port}/hook")
    monitor.work_once()  # nothing listens yet: delivery fails
    [incident] = monitor.store.open_incidents()
    assert incident["notify_error"].startswith("delivery failed")
    with WebhookReceiver(port) as hook:
        monitor.work_once()
        assert hook.titles() == ["[Photo Factory] PROBLEM: librarian is error"]
    assert monitor.store.open_incidents()[0]["notify_error"] is None


def test_many_failures_in_an_hour_open_a_warning(database_url, storage):
    for i in range(3):
        seed_quarantine(database_url, name=f"bad{i}.jpg")
    monitor = make_monitor(database_url, storage, failures_per_hour=2)
    monitor.work_once()
    assert [i["key"] for i in monitor.store.open_incidents()] == ["failures"]


def test_an_old_backup_is_an_incident_once_the_backup_service_is_deployed(database_url, storage):
    monitor = make_monitor(database_url, storage, backup_max_age_hours=24)
    monitor.work_once()
    assert monitor.store.open_incidents() == []
    seed_heartbeat(database_url, "backup")
    fetch(database_url, "INSERT INTO backup_runs (started_at, finished_at, remote, result) VALUES "
                        "(now() - interval '3 days', now() - interval '3 days', 'crypt:', 'ok') RETURNING id")
    monitor.work_once()
    [incident] = monitor.store.open_incidents()
    assert incident["subject"] == "backup is too old"


def test_cleanup_prunes_history_past_the_retention_period(database_url, storage):
    seed_heartbeat(database_url, "librarian", age_s=61 * 86400)
    seed_heartbeat(database_url, "librarian", age_s=59 * 86400)
    monitor = make_monitor(database_url, storage, retention_days=60)
    monitor.work_once()
    ages = fetch(database_url, "SELECT extract(day FROM now() - recorded_at)::int AS d "
                               "FROM system_status_history WHERE service = 'librarian' AND status = 'ok'")
    assert sorted(a["d"] for a in ages) == [59]


def test_a_flapping_service_sends_one_problem_and_waits_before_the_recovery(database_url, storage):
    with WebhookReceiver() as hook:
        monitor = make_monitor(database_url, storage, alert_urls=hook.url, alert_recovery_seconds=3600)
        for _ in range(3):  # stale, back, stale again, back …
            seed_heartbeat(database_url, "librarian", age_s=400, interval_s=60)
            monitor.work_once()
            seed_heartbeat(database_url, "librarian", age_s=0, interval_s=60)
            monitor.work_once()
        assert hook.titles() == ["[Photo Factory] PROBLEM: librarian is stale"]
        assert len(monitor.store.open_incidents()) == 1
