"""``photo-factory healthcheck`` against a real database: per-replica liveness of stage workers."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import psycopg2
import pytest

from photo_factory.health import check
from photo_factory.heartbeat import HeartbeatService

SCRIPT = Path(__file__).resolve().parents[3] / "docker" / "healthcheck.sh"

pytestmark = pytest.mark.integration


def execute(url: str, sql: str, *params: object) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)


def test_a_dead_replica_is_unhealthy_even_when_another_replica_beats(database_url):
    execute(database_url, "INSERT INTO system_status (service, status, host, interval_s) "
                          "VALUES ('thumbnails', 'ok', 'another-container', 60)")
    me = socket.gethostname()
    execute(database_url, "INSERT INTO stage_workers (worker_id, stage, host, pid, last_seen) "
                          "VALUES (%s, 'thumbnails', %s, 1, now() - interval '10 minutes')", f"thumbnails@{me}:1", me)
    assert not check(database_url, "thumbnails").healthy
    execute(database_url, "UPDATE stage_workers SET last_seen = now()")
    assert check(database_url, "thumbnails").healthy


def test_a_service_without_replicas_is_judged_by_its_heartbeat(database_url):
    execute(database_url, "INSERT INTO system_status (service, status, host, interval_s, last_heartbeat) "
                          "VALUES ('librarian', 'ok', 'x', 60, now() - interval '1 hour')")
    assert not check(database_url, "librarian").healthy


def test_the_containers_light_check_follows_the_committed_heartbeat(database_url, tmp_path, monkeypatch):
    """docker/healthcheck.sh reads what a real heartbeat committed: healthy while it beats,
    unhealthy once it says stopping; a --once run never writes the line."""
    monkeypatch.setenv("PF_HEALTH_DIR", str(tmp_path))

    def light() -> subprocess.CompletedProcess:
        env = {"PF_HEALTH_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        return subprocess.run(["sh", str(SCRIPT), "geocode"], env=env, capture_output=True, text=True, timeout=10)

    once = HeartbeatService(database_url, "geocode", 5, once=True)
    once.set("ok", "a one-off run")
    assert once.beat() and light().returncode == 1  # no line: "no heartbeat yet"
    beat = HeartbeatService(database_url, "geocode", 5, once=False)
    beat.set("ok", "idle")
    assert beat.beat()
    proc = light()
    assert proc.returncode == 0 and proc.stdout.startswith("geocode: ok"), proc.stdout
    assert check(database_url, "geocode").healthy  # the thorough check agrees
    beat.stop()
    proc = light()
    assert proc.returncode == 1 and "status stopping" in proc.stdout, proc.stdout
