"""Steps for monitoring.feature: the real ``photo-factory monitor/status`` CLIs, a real webhook
receiver, and the real dashboard app driven by Streamlit's AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

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

scenarios("monitoring.feature")
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def env(pf_env: dict[str, str]) -> dict[str, str]:
    return {**pf_env, **SCENARIO_ENV}


@given("an alert webhook is listening")
def webhook_listening(hook: WebhookReceiver, env: dict[str, str]) -> None:
    env["PF_ALERT_URLS"] = hook.url


@given("the librarian last beat 10 minutes ago with a 60 second interval")
def librarian_stopped(database_url: str) -> None:
    seed_heartbeat(database_url, "librarian", "stopping", age_s=600, interval_s=60)


@when(parsers.parse("the monitor runs {times:d} times"))
def monitor_runs(times: int, env: dict[str, str]) -> None:
    for _ in range(times):
        run_cli(env, "monitor", "--once")


@when("the librarian beats again")
def librarian_beats(database_url: str) -> None:
    seed_heartbeat(database_url, "librarian", "ok", age_s=0, interval_s=60)


@then(parsers.parse('the librarian is "{status}"'))
def librarian_is(status: str, database_url: str) -> None:
    assert fetch(database_url, "SELECT status FROM system_status WHERE service = 'librarian'")[0]["status"] == status


@then(parsers.parse('the webhook received exactly 1 message "{text}"'))
def one_message(text: str, hook: WebhookReceiver) -> None:
    assert [t for t in hook.titles() if text in t] == [f"[Photo Factory] {text}"]


@then(parsers.parse('photo-factory status says "{headline}" and exits 1'))
def status_fails(headline: str, env: dict[str, str]) -> None:
    proc = run_cli(env, "status", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert headline in proc.stdout and "librarian" in proc.stdout


@given(parsers.parse('a thumbnail job that failed for good with reason "{reason}"'))
def failed_job(reason: str, database_url: str) -> None:
    seed_assets(database_url, 3)
    seed_failed_stage_job(database_url, asset_id=2, reason=reason)


@given(parsers.parse('a quarantined file "{name}"'))
def quarantined(name: str, database_url: str) -> None:
    seed_quarantine(database_url, name=name)


@when("the owner retries every failed item and quarantined file on the dashboard")
def retry_on_dashboard(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = open_page("Failed items")
    for key in ("retry_items", "retry_quarantine"):
        box = at.multiselect(key=key)
        box.set_value(box.options).run()
        at.button(key=f"{key}_button").click().run()
    assert not at.exception, at.exception


@then("the thumbnail job is pending again with 0 attempts")
def job_pending(database_url: str) -> None:
    assert fetch(database_url, "SELECT state, attempts FROM stage_jobs") == [{"state": "pending", "attempts": 0}]


@then("the quarantined file is marked for retry")
def quarantine_retry(database_url: str) -> None:
    assert fetch(database_url, "SELECT status FROM quarantine") == [{"status": "retry_requested"}]


@then("photo-factory status reports 0 failed items")
def status_no_failed(env: dict[str, str]) -> None:
    report = json.loads(run_cli(env, "status", "--json", check=False).stdout)
    assert report["failed_items"] == 0 and report["quarantined"] == 0
