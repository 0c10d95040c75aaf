"""Every dashboard page with Streamlit's AppTest against a real Postgres with seeded rows."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard_pages import APP, open_page
from tests.support.monitoring_samples import (
    fetch,
    seed_assets,
    seed_failed_stage_job,
    seed_heartbeat,
    seed_quarantine,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def app_env(pf_env, monkeypatch):
    """No Docker socket (the unavailable path) and auto-refresh off."""
    monkeypatch.setenv("PF_DOCKER_URL", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PF_DASHBOARD_REFRESH_S", "0")
    return pf_env


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.info, *at.success, *at.warning, *at.error, *at.caption)]
    return "\n".join(str(p) for p in parts)


def frames(at: AppTest) -> str:
    return "\n".join(df.value.to_string() for df in (*at.dataframe, *at.table))


@pytest.fixture
def seeded(app_env, database_url):
    seed_heartbeat(database_url, "librarian", "ok", age_s=10, message="watching the inbox")
    seed_heartbeat(database_url, "thumbnails", "ok", age_s=900, interval_s=60, message="idle")
    seed_assets(database_url, 30)
    seed_failed_stage_job(database_url, asset_id=5)
    seed_quarantine(database_url, name="broken.jpg")
    return database_url


def test_the_overview_shows_the_verdict_every_service_and_says_docker_is_unavailable(seeded):
    at = open_page("Overview")
    assert "Something is wrong" in at.error[0].value
    assert "thumbnails is stale" in at.error[0].value
    assert "Docker API unavailable" in texts(at)
    table = texts(at)
    assert "| librarian |" in table and "watching the inbox" in table and "factory-db" in table


def test_the_service_page_shows_the_heartbeat_history(seeded):
    at = open_page("Service")
    at.selectbox(key="service_name").set_value("librarian").run()
    assert "watching the inbox" in frames(at)
    assert "Docker API unavailable" in texts(at)


def test_the_pipeline_page_shows_queue_and_failed_per_stage(seeded):
    at = open_page("Pipeline")
    assert len(at.get("graphviz_chart")) == 1
    table = at.dataframe[0].value
    thumbs = table[table["stage"] == "thumbnails"].iloc[0]
    # 15 of 30 not thumbnailed, one of them failed: the failed one is not pending
    assert thumbs["pending"] == 14 and thumbs["failed"] == 1 and thumbs["done total"] == 15


def test_the_library_page_shows_counts_recent_files_and_quarantine(seeded, storage):
    from PIL import Image

    thumb = storage["storage"] / "Derivatives/thumbnails/256/2015/2015-01-31/IMG_30.JPG.jpg"
    thumb.parent.mkdir(parents=True)
    Image.new("RGB", (32, 24), "teal").save(thumb)
    at = open_page("Library")
    files = next(m for m in at.metric if m.label == "Files")
    assert files.value == "30"
    assert "undecodable" in frames(at)
    assert "IMG_30.JPG" in texts(at) and "IMG_1.JPG" not in texts(at)  # newest first, 24 a page
    assert texts(at).count("(no thumbnail yet)") == 23  # IMG_30 shows its thumbnail
    at.button(key="lib_next").click().run()  # the next page starts after the last row shown
    assert "IMG_1.JPG" in texts(at) and "IMG_30.JPG" not in texts(at) and "page 2" in texts(at)


def test_the_history_page_shows_uptime_and_volume(seeded):
    fetch(seeded, "INSERT INTO ingest_events (kind) VALUES ('ingested'), ('error') RETURNING id")
    at = open_page("History")
    assert "librarian" in frames(at)
    assert len(at.get("vega_lite_chart")) == 2


def test_a_failed_item_and_a_quarantined_file_are_retried_from_the_failed_items_page(seeded):
    at = open_page("Failed items")
    assert "undecodable" in frames(at)
    at.multiselect(key="retry_items").select(at.multiselect(key="retry_items").options[0]).run()
    at.button(key="retry_items_button").click().run()
    at.multiselect(key="retry_quarantine").select(at.multiselect(key="retry_quarantine").options[0]).run()
    at.button(key="retry_quarantine_button").click().run()
    assert not at.exception
    job = fetch(seeded, "SELECT state, attempts FROM stage_jobs WHERE asset_id = 5")[0]
    assert job == {"state": "pending", "attempts": 0}
    assert fetch(seeded, "SELECT status FROM quarantine")[0]["status"] == "retry_requested"
    actions = {r["action"] for r in fetch(seeded, "SELECT action FROM operator_actions")}
    assert actions == {"retry_stage_job", "retry_quarantine"}


def test_the_backup_page_shows_freshness_and_the_last_drill(seeded):
    fetch(seeded, "INSERT INTO backup_runs (started_at, finished_at, remote, files, result) VALUES "
                  "(now() - interval '2 hours', now() - interval '2 hours', 'crypt:', 7, 'ok') RETURNING id")
    fetch(seeded, "INSERT INTO restore_drills (finished_at, remote, result, files_checked) VALUES "
                  "(now(), 'crypt:', 'passed', 7) RETURNING id")
    at = open_page("Backup")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Last good backup"] == "2h ago"
    assert metrics["Last restore drill"] == "passed"


def test_a_password_guards_the_dashboard(seeded, monkeypatch):
    monkeypatch.setenv("PF_DASHBOARD_PASSWORD", "s3cret")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "| service |" not in texts(at)
    at.text_input(key="password").input("s3cret").run()
    assert "| service |" in texts(at)


@pytest.fixture
def deprecations():
    """Every Streamlit deprecation warning logged while the test runs (Streamlit logs each one;
    its once-per-message memory is cleared so an earlier test cannot hide one)."""
    import logging

    from streamlit import deprecation_util

    seen: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger, handler = logging.getLogger("streamlit.deprecation_util"), Recorder()
    deprecation_util._shown_warnings.clear()
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


def test_no_page_uses_a_deprecated_streamlit_api(seeded, storage, deprecations):
    from PIL import Image

    from dashboard.views import PAGES

    thumb = storage["storage"] / "Derivatives/thumbnails/256/2015/2015-01-31/IMG_30.JPG.jpg"
    thumb.parent.mkdir(parents=True)
    Image.new("RGB", (32, 24), "teal").save(thumb)
    fetch(seeded, "INSERT INTO ingest_events (kind) VALUES ('ingested') RETURNING id")
    for title in PAGES:
        open_page(title)
    assert deprecations == []
