"""Finding 2 and the switches: acknowledge, delete from quarantine, maintenance; /metrics."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from service_monitor import metrics

from photo_factory.operator import OperatorStore
from tests.support.monitoring_samples import (
    fetch,
    free_port,
    seed_assets,
    seed_failed_stage_job,
    seed_heartbeat,
    seed_quarantine,
)

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).with_name("photo-factory"))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_an_item_that_fails_again_after_its_acknowledgement_counts_again(pf_env, database_url):
    seed_assets(database_url, 2)
    seed_failed_stage_job(database_url, asset_id=1)
    done = cli(pf_env, "acknowledge", "failed", "thumbnails:1", "--by", "anna")
    assert done.returncode == 0 and "acknowledged 1 failed thumbnails item" in done.stdout, done.stdout + done.stderr
    assert '"failed_items": 0' in cli(pf_env, "status", "--json").stdout
    # retried, failed again: the old acknowledgement does not cover the new failure
    fetch(database_url, "UPDATE stage_jobs SET updated_at = now() + interval '1 second' RETURNING 1")
    assert '"failed_items": 1' in cli(pf_env, "status", "--json").stdout
    listed = cli(pf_env, "acknowledge", "list").stdout
    assert "thumbnails:1" in listed and "1 failed item(s) and 0 quarantined file(s) not acknowledged" in listed


def test_a_quarantined_file_deleted_from_the_dashboard_is_gone_and_recorded(database_url, storage):
    qid = seed_quarantine(database_url, name="broken.jpg")
    path = storage["storage"] / "Quarantine/undecodable/broken.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a jpeg")
    ops = OperatorStore(database_url)
    assert ops.delete_quarantined([qid], storage["storage"], "dashboard") == [qid]
    ops.close()
    assert not path.exists()
    assert fetch(database_url, "SELECT status FROM quarantine") == [{"status": "deleted"}]
    [action] = fetch(database_url, "SELECT action, target, actor, detail FROM operator_actions")
    assert (action["action"], action["target"], action["actor"]) == ("delete_quarantine", f"quarantine:{qid}",
                                                                     "dashboard")
    assert action["detail"]["name"] == "broken.jpg"


def test_a_quarantine_path_outside_quarantine_is_never_deleted(database_url, storage):
    qid = seed_quarantine(database_url, name="x.jpg")
    fetch(database_url, "UPDATE quarantine SET quarantine_path = 'Library/2024/keep.jpg' RETURNING 1")
    keep = storage["storage"] / "Library/2024/keep.jpg"
    keep.parent.mkdir(parents=True)
    keep.write_bytes(b"precious")
    ops = OperatorStore(database_url)
    assert ops.delete_quarantined([qid], storage["storage"], "dashboard") == []
    ops.close()
    assert keep.read_bytes() == b"precious"


def test_maintenance_on_off_and_status_say_so(pf_env, database_url):
    seed_heartbeat(database_url, "librarian", "ok")
    on = cli(pf_env, "maintenance", "on", "--for", "2h", "--reason", "disk swap", "--by", "anna")
    assert on.returncode == 0 and "maintenance on until" in on.stdout, on.stdout + on.stderr
    st = cli(pf_env, "maintenance", "status")
    assert st.returncode == 0 and "set by anna: disk swap" in st.stdout
    report = cli(pf_env, "status")
    assert "(maintenance)" in report.stdout and "alerts are held" in report.stdout, report.stdout
    assert cli(pf_env, "maintenance", "off").stdout.strip() == "maintenance off"
    assert cli(pf_env, "maintenance", "status").returncode == 1
    assert cli(pf_env, "maintenance", "on", "--for", "soon").returncode == 2
    actions = [r["action"] for r in fetch(database_url, "SELECT action FROM operator_actions ORDER BY id")]
    assert actions == ["maintenance_on", "maintenance_off"]


def test_metrics_are_served_for_prometheus(database_url):
    seed_assets(database_url, 10)
    seed_heartbeat(database_url, "librarian", "ok")
    seed_failed_stage_job(database_url, asset_id=3)
    port = free_port()
    server, thread = metrics.serve(port, "127.0.0.1", database_url, 3.0)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    finally:
        server.shutdown()
    assert "pf_database_up 1.0" in text
    assert 'pf_queue_pending{stage="thumbnails"} 5.0' in text
    assert 'pf_stage_failed{stage="thumbnails"} 1.0' in text
    assert "pf_failed_items_open 1.0" in text
    assert 'pf_heartbeat_age_seconds{service="librarian"}' in text


def test_an_upgrade_holds_alerts_while_it_runs_and_leaves_an_operators_maintenance_alone(database_url, pg_server_url):
    from photo_factory.operator import maintenance_during

    ops = OperatorStore(database_url)
    with maintenance_during(database_url, "upgrade: applying migrations", 600, "migrate") as on:
        assert on and ops.maintenance()["set_by"] == "migrate"
    assert ops.maintenance() is None
    ops.maintenance_on(3600, "disk swap", "anna")
    with maintenance_during(database_url, "upgrade", 600, "migrate") as on:
        assert not on
    assert ops.maintenance()["set_by"] == "anna"  # still the operator's
    ops.close()
    bare = pg_server_url.rsplit("/", 1)[0] + "/postgres"  # no maintenance table there
    with maintenance_during(bare, "upgrade", 600, "migrate") as on:
        assert not on
