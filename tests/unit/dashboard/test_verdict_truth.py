"""Finding 3 and friends: down at once, setup hints, acknowledged failures, maintenance (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard import docker_state, verdict


def svc(name: str, status: str = "ok", age_s: float = 5, **details: object) -> dict:
    return {"service": name, "status": status, "message": "m", "age_s": age_s, "interval_s": 60,
            "details": details}


def inspect(state: str, code: int = 0, health: str | None = None, log: str = "") -> dict:
    attrs: dict = {"Name": "/pf-thumbnails-1", "State": {"Status": state, "Running": state == "running",
                                                         "ExitCode": code, "StartedAt": "2026-01-01T10:00:00Z"},
                   "Config": {"Labels": {"com.docker.compose.service": "thumbnails"}}}
    if health:
        attrs["State"]["Health"] = {"Status": health, "Log": [{"Output": log}]}
    return docker_state.describe(attrs, now=datetime(2026, 1, 1, 11, tzinfo=UTC))


def test_an_exited_container_is_down_at_once_whatever_its_last_heartbeat_said():
    [row] = verdict.with_effective([svc("thumbnails", "ok", age_s=2)], 3, {"thumbnails": inspect("exited", 137)})
    assert (row["effective"], row["level"]) == ("down", "error")
    assert "exit code 137" in row["message"]


def test_an_unhealthy_container_is_down_with_its_health_check_output():
    c = inspect("running", health="unhealthy", log="thumbnails: heartbeat is 400s old")
    [row] = verdict.with_effective([svc("thumbnails")], 3, {"thumbnails": c})
    assert row["effective"] == "down" and "heartbeat is 400s old" in row["message"]


def test_a_running_healthy_container_changes_nothing():
    [row] = verdict.with_effective([svc("thumbnails")], 3, {"thumbnails": inspect("running", health="healthy")})
    assert row["effective"] == "ok"


def test_stopping_for_a_moment_is_a_warning_and_for_longer_is_down():
    assert verdict.with_effective([svc("geocode", "stopping", age_s=3)], 3)[0]["level"] == "warning"
    assert verdict.with_effective([svc("geocode", "stopping", age_s=45)], 3)[0]["effective"] == "down"


def test_backup_without_a_remote_is_a_setup_hint_with_the_unprotected_count_not_a_problem():
    services = verdict.with_effective([svc("librarian"), svc("backup", "degraded", setup_hint="x")], 3)
    v = verdict.overall(services, unprotected=1234)
    assert v.ok, v.problems
    assert v.notes == ["setup: backup not configured: 1,234 file(s) not protected yet; set PF_BACKUP_REMOTE "
                       "(README: Backup)"]


def test_acknowledged_failures_are_noted_not_counted_and_maintenance_is_said():
    until = datetime(2026, 1, 1, 12, tzinfo=UTC)
    v = verdict.overall(verdict.with_effective([svc("librarian")], 3), failed_items=0, quarantined=0,
                        acknowledged=3, maintenance={"until": until, "reason": "disk swap"})
    assert v.ok and v.headline == "Everything is fine (maintenance)"
    assert any("3 acknowledged" in n for n in v.notes)
    assert any("alerts are held (disk swap)" in n for n in v.notes)
