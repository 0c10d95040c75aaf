"""Alert conditions, messages, disk rules and the Syncthing folder rule (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service_monitor import conditions, disk, syncthing
from service_monitor.alerts import body, title
from service_monitor.settings import MonitorSettings

GB = 1024**3


def test_stale_and_failing_services_are_conditions_and_healthy_ones_are_not():
    found = conditions.service_conditions([
        {"service": "librarian", "status": "stale", "message": "no heartbeat"},
        {"service": "thumbnails", "status": "error", "message": "boom"},
        {"service": "geocode", "status": "ok", "message": ""},
        {"service": "backup", "status": "stopping", "message": ""},
    ])
    assert [c["key"] for c in found] == ["service:librarian", "service:thumbnails"]


def test_failures_open_a_warning_only_above_the_threshold():
    assert conditions.failure_conditions(20, 20) == []
    [c] = conditions.failure_conditions(21, 20)
    assert c["severity"] == "warning"


def test_an_old_backup_counts_only_once_backup_is_deployed():
    assert conditions.backup_conditions({"age_hours": 100}, 48, backup_deployed=False) == []
    assert conditions.backup_conditions({"age_hours": 10}, 48, backup_deployed=True) == []
    assert conditions.backup_conditions({"age_hours": 49}, 48, True)[0]["subject"] == "backup is too old"
    assert conditions.backup_conditions({"age_hours": None}, 48, True)[0]["subject"] == "no good backup yet"


def test_a_volume_below_either_limit_is_low():
    vols = {"storage": {"free_bytes": 50 * GB, "free_percent": 5.0, "path": "/s"},
            "inbox": {"free_bytes": 2 * GB, "free_percent": 50.0, "path": "/i"}}
    check = disk.evaluate(vols, min_free_percent=10, min_free_gb=5)
    assert check.status == "error" and check.details["low"] == ["storage", "inbox"]
    assert [c["key"] for c in conditions.disk_conditions(check.details)] == ["disk:storage", "disk:inbox"]


def test_growth_per_day_compares_with_the_beat_a_day_ago():
    before = {"details": {"storage": {"used_bytes": 1000}}}
    assert disk.growth_per_day(3000, before, "storage", 24.0) == 2000
    assert disk.growth_per_day(3000, None, "storage", 24.0) is None


def test_the_syncthing_folder_state_reads_files_still_to_arrive_and_errors():
    status, message, details = syncthing.folder_check("inbox", {"state": "syncing", "needFiles": 3})
    assert status == "ok" and "3 file(s) still to arrive" in message and details["need_files"] == 3
    assert syncthing.folder_check("inbox", {"state": "idle", "pullErrors": 2})[0] == "error"


def test_alert_titles_say_problem_then_resolved():
    opened = datetime(2026, 1, 1, tzinfo=UTC)
    inc = {"id": 7, "severity": "error", "subject": "librarian is stale", "message": "no heartbeat",
           "opened_at": opened, "resolved_at": opened + timedelta(minutes=12)}
    assert title(inc, recovery=False) == "[Photo Factory] PROBLEM: librarian is stale"
    assert title(inc, recovery=True) == "[Photo Factory] RESOLVED: librarian is stale"
    assert "Recovered after 12 min" in body(inc, recovery=True)


def test_alert_urls_split_on_commas_and_spaces():
    s = MonitorSettings(alert_urls="json://a/b, mailto://c  discord://d/e")
    assert s.alert_targets == ["json://a/b", "mailto://c", "discord://d/e"]
