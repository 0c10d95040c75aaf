"""``photo-factory healthcheck`` against a real database: per-replica liveness of stage workers."""

from __future__ import annotations

import socket

import psycopg2
import pytest

from photo_factory.health import check

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
