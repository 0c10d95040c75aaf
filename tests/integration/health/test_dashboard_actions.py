"""The dashboard's operator controls, driven through the real app (Streamlit's AppTest): delete a
quarantined file, switch maintenance on and off."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard_pages import open_page
from tests.support.monitoring_samples import fetch, seed_heartbeat, seed_quarantine

pytestmark = pytest.mark.integration
APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")


@pytest.fixture
def app_env(pf_env, monkeypatch):
    monkeypatch.setenv("PF_DOCKER_URL", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PF_DASHBOARD_REFRESH_S", "0")
    return pf_env


def test_a_quarantined_file_is_deleted_from_the_dashboard_only_when_confirmed(app_env, database_url, storage):
    qid = seed_quarantine(database_url, name="broken.jpg")
    path = storage["storage"] / "Quarantine/undecodable/broken.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"junk")
    at = open_page("Failed items")
    box = at.multiselect(key="delete_quarantine")
    box.set_value(box.options).run()
    assert at.button(key="delete_quarantine_button").disabled  # not without the confirmation
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_quarantine_button").click().run()
    assert not at.exception, at.exception
    assert not path.exists()
    assert fetch(database_url, "SELECT status FROM quarantine WHERE id = %s", (qid,)) == [{"status": "deleted"}]


def test_maintenance_is_switched_on_and_off_on_the_overview(app_env, database_url):
    seed_heartbeat(database_url, "librarian", "ok")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="maintenance_reason").input("new disk").run()
    at.button(key="maintenance_on").click().run()
    assert not at.exception, at.exception
    [row] = fetch(database_url, "SELECT reason, set_by FROM maintenance")
    assert row == {"reason": "new disk", "set_by": "dashboard"}
    at.run()
    assert any("alerts are held" in i.value for i in at.info), [i.value for i in at.info]
    at.button(key="maintenance_off").click().run()
    assert fetch(database_url, "SELECT count(*) AS n FROM maintenance") == [{"n": 0}]
