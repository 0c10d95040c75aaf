"""Steps for truth_of_status.feature: the real ``photo-factory status/acknowledge`` CLIs, the real
dashboard (Streamlit's AppTest), the real verdict fed a ``docker inspect``-shaped payload (no
engine is started), and the real monitor round with its clock injected (nothing sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from service_monitor.service import build
from service_monitor.settings import MonitorSettings

from dashboard import docker_state, status
from dashboard.status_store import StatusStore
from photo_factory import settings
from tests.support.cli import run_cli
from tests.support.dashboard_pages import open_page
from tests.support.monitoring_samples import (
    SCENARIO_ENV,
    WebhookReceiver,
    fetch,
    seed_assets,
    seed_failed_stage_job,
    seed_heartbeat,
    seed_quarantine,
)

scenarios("truth_of_status.feature")
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def env(pf_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    extra = {**SCENARIO_ENV, "PF_ACTOR": "owner"}
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return {**pf_env, **extra}


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def seen() -> dict:
    return {}


@given("the librarian beats ok")
def librarian_ok(database_url: str) -> None:
    seed_heartbeat(database_url, "librarian", "ok", age_s=5, interval_s=60)


@given(parsers.parse('a thumbnail job that failed for good with reason "{reason}"'))
def failed_job(reason: str, database_url: str) -> None:
    seed_assets(database_url, 3, thumbnailed_every=1)
    with_backup = "UPDATE media_assets SET is_backed_up = true, is_geocoded = true"
    fetch_exec(database_url, with_backup)
    seed_failed_stage_job(database_url, asset_id=2, reason=reason)


def fetch_exec(url: str, sql: str) -> None:
    from tests.support.monitoring_samples import connect

    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)


@given(parsers.parse('a quarantined file "{name}"'))
def quarantined(name: str, database_url: str, seen: dict) -> None:
    seen["quarantine_id"] = seed_quarantine(database_url, name=name)


@then(parsers.parse('photo-factory status says "{headline}" and exits {code:d}'))
def status_says(headline: str, code: int, env: dict[str, str]) -> None:
    proc = run_cli(env, "status", check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert headline in proc.stdout, proc.stdout


@when("the owner acknowledges the failed item on the dashboard")
def ack_on_dashboard(env: dict[str, str]) -> None:
    at = open_page("Failed items")
    box = at.multiselect(key="ack_items")
    box.set_value(box.options).run()
    at.button(key="ack_items_button").click().run()
    assert not at.exception, at.exception


@when("the owner acknowledges the quarantined file with photo-factory acknowledge")
def ack_on_cli(env: dict[str, str], seen: dict) -> None:
    proc = run_cli(env, "acknowledge", "quarantine", str(seen["quarantine_id"]), "--note", "HEIC from a broken phone")
    assert "acknowledged 1 quarantined file" in proc.stdout, proc.stdout + proc.stderr


@then("both acknowledgements are recorded in operator_actions")
def recorded(database_url: str, seen: dict) -> None:
    rows = fetch(database_url, "SELECT action, target, actor FROM operator_actions ORDER BY id")
    assert {"action": "acknowledge_stage_job", "target": "thumbnails:2", "actor": "dashboard"} in rows
    assert {"action": "acknowledge_quarantine", "target": f"quarantine:{seen['quarantine_id']}",
            "actor": "owner"} in rows


@when("another file is quarantined")
def another(database_url: str) -> None:
    seed_quarantine(database_url, name="also-broken.mov")


@given(parsers.parse("Docker inspects the librarian container as exited with code {code:d}"))
def docker_exited(code: int, seen: dict) -> None:
    # the shape of `docker inspect` (container.attrs), trimmed to what the reader looks at
    attrs = {"Id": "4f1c", "Name": "/photo-factory-librarian-1", "RestartCount": 0,
             "State": {"Status": "exited", "Running": False, "ExitCode": code, "OOMKilled": False,
                       "StartedAt": "2026-01-01T10:00:00.0Z", "FinishedAt": "2026-01-01T11:00:00.0Z",
                       "Health": {"Status": "unhealthy", "FailingStreak": 1, "Log": []}},
             "Config": {"Image": "photo-factory-librarian:local",
                        "Labels": {"com.docker.compose.service": "librarian",
                                   "com.docker.compose.project": "photo-factory"}}}
    seen["docker"] = docker_state.DockerSnapshot(
        True, containers={docker_state.service_name(attrs): docker_state.describe(attrs)})


@when("the dashboard refreshes once")
def refresh(database_url: str, seen: dict) -> None:
    store = StatusStore(database_url)
    try:
        seen["report"] = status.collect(store, 3.0, seen["docker"])
    finally:
        store.close()


@then(parsers.parse('the librarian is reported "{state}"'))
def reported(state: str, seen: dict) -> None:
    librarian = next(s for s in seen["report"]["services"] if s["service"] == "librarian")
    assert librarian["status"] == state, librarian
    assert "exit code 137" in librarian["message"]


@then(parsers.parse('the verdict says "{headline}"'))
def verdict_says(headline: str, seen: dict) -> None:
    assert seen["report"]["headline"] == headline


@given("an alert webhook is listening")
def webhook_listening(hook: WebhookReceiver, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PF_ALERT_URLS", hook.url)


@given("the librarian last beat 10 minutes ago with a 60 second interval")
def librarian_stopped(database_url: str) -> None:
    seed_heartbeat(database_url, "librarian", "ok", age_s=600, interval_s=60)


@pytest.fixture
def monitor(env: dict[str, str], hook: WebhookReceiver):
    m = build(settings.load(settings.CoreSettings), settings.load(MonitorSettings))
    yield m
    m.store.close()


@when("the monitor runs")
def monitor_runs(monitor) -> None:
    monitor.work_once()


@when(parsers.parse("the monitor runs {hours:d} hours later"))
def monitor_runs_later(hours: int, monitor) -> None:
    later = datetime.now(UTC) + timedelta(hours=hours)
    monitor.clock = lambda: later
    monitor.work_once()


@then(parsers.parse('the webhook received exactly 1 message "{text}"'))
def one_message(text: str, hook: WebhookReceiver) -> None:
    assert [t for t in hook.titles() if text in t] == [f"[Photo Factory] {text}"]
