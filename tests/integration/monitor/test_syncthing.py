"""The Syncthing check against a real ``syncthing serve`` on loopback (discovery and relays off)."""

from __future__ import annotations

import shutil

import pytest
from service_monitor import syncthing

from tests.support.monitoring_samples import start_syncthing

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("syncthing") is None, reason="syncthing not installed")]


@pytest.fixture(scope="module")
def real_syncthing(tmp_path_factory):
    home = tmp_path_factory.mktemp("syncthing-home")
    st = start_syncthing(home, tmp_path_factory.mktemp("inbox"), folder_id="phone-camera")
    yield st
    st.stop()


def test_a_running_syncthing_reports_its_version_and_the_inbox_folder_state(real_syncthing):
    result = syncthing.check(real_syncthing.url, real_syncthing.api_key, real_syncthing.folder)
    assert result.status == "ok", result.message
    assert result.details["version"].startswith("v")
    assert result.details["folder"] == "phone-camera"
    assert result.details["need_files"] == 0


def test_a_wrong_api_key_is_an_error_that_says_so(real_syncthing):
    result = syncthing.check(real_syncthing.url, "not-the-key", real_syncthing.folder)
    assert result.status == "error"
    assert "API key rejected" in result.message


def test_an_unknown_folder_is_an_api_error(real_syncthing):
    result = syncthing.check(real_syncthing.url, real_syncthing.api_key, "no-such-folder")
    assert result.status == "error"


def test_an_unreachable_syncthing_is_an_error(real_syncthing):
    result = syncthing.check("http://127.0.0.1:9", real_syncthing.api_key, timeout=2)
    assert result.status == "error" and result.message.startswith("unreachable")


def test_the_monitor_beats_for_syncthing(real_syncthing, database_url, storage):
    from tests.integration.monitor.test_monitor_round import make_monitor, status_of

    monitor = make_monitor(database_url, storage, syncthing_url=real_syncthing.url,
                           syncthing_api_key=real_syncthing.api_key, syncthing_folder=real_syncthing.folder)
    monitor.work_once()
    row = status_of(database_url, "syncthing")
    assert row["status"] == "ok" and "phone-camera" in row["message"]
