"""Finding 1: every process beats its own row; the service's state is derived from its live
instances, so a finished ``--once`` never makes a running service look stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from photo_factory.heartbeat import HeartbeatService

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).with_name("photo-factory"))


def row(url: str, service: str) -> dict | None:
    with psycopg2.connect(url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT status, message, details FROM system_status WHERE service = %s", (service,))
        return cur.fetchone()


def wait_for(pred, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_a_finished_once_run_does_not_make_the_running_worker_look_stopped(database_url):
    service = HeartbeatService(database_url, "thumbnails", 600, once=False)
    service.set("ok", "86 done", done=86)
    service.beat()
    once = HeartbeatService(database_url, "thumbnails", 600, once=True)
    once.set("ok", "0 done", done=0)
    once.beat()
    once.stop("stopped after 0 done")
    got = row(database_url, "thumbnails")
    assert got["status"] == "ok" and got["details"]["done"] == 86, got
    assert got["details"]["instances"] == 1
    service.stop("stopped")
    assert row(database_url, "thumbnails")["status"] == "stopping"


def test_the_worst_live_instance_speaks_for_the_service(database_url):
    a = HeartbeatService(database_url, "geocode", 600, once=False)
    b = HeartbeatService(database_url, "geocode", 600, once=False)
    a.set("ok", "fine")
    a.beat()
    b.set("error", "geocoder broken")
    b.beat()
    assert row(database_url, "geocode")["status"] == "error"
    b.stop("stopped")  # the broken replica went away: the live one speaks again
    assert row(database_url, "geocode")["status"] == "ok"


def test_a_once_run_alone_is_the_service_while_it_runs(database_url):
    once = HeartbeatService(database_url, "stitch", 600, once=True)
    once.set("ok", "working")
    once.beat()
    assert row(database_url, "stitch")["status"] == "ok"
    once.stop("round done")
    assert row(database_url, "stitch")["status"] == "stopping"


def test_healthcheck_keeps_passing_while_the_librarian_runs_and_a_once_finishes_beside_it(pf_env, database_url):
    # a long interval: the running service does not rewrite its state for the rest of the test
    env = {**pf_env, "PF_LIBRARIAN_HEARTBEAT_SECONDS": "120"}
    proc = subprocess.Popen([CLI, "librarian"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: (row(database_url, "librarian") or {}).get("status") == "ok"), "never ok"
        once = subprocess.run([CLI, "librarian", "--once"], env=env, capture_output=True, text=True, timeout=120)
        assert once.returncode == 0, once.stdout + once.stderr
        assert row(database_url, "librarian")["status"] == "ok"
        health = subprocess.run([CLI, "healthcheck", "librarian"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert health.returncode == 0, health.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
