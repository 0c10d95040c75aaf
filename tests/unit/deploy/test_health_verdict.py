"""The container health check: a worker is healthy when its heartbeat is fresh."""

from __future__ import annotations

from photo_factory.health import judge


def row(age_s: float, status: str = "ok", interval_s: float = 10.0) -> dict:
    return {"service": "thumbnails", "status": status, "message": "m", "host": "h",
            "interval_s": interval_s, "age_s": age_s}


def test_a_fresh_heartbeat_is_healthy() -> None:
    assert judge(row(5), "thumbnails", grace=2.5, min_age=15).healthy


def test_a_heartbeat_older_than_grace_times_its_interval_is_unhealthy() -> None:
    verdict = judge(row(60), "thumbnails", grace=2.5, min_age=15)
    assert not verdict.healthy
    assert "60s old" in verdict.reason


def test_a_short_interval_is_never_judged_stale_before_the_minimum_age() -> None:
    assert judge(row(12, interval_s=1), "thumbnails", grace=2.5, min_age=15).healthy


def test_a_service_that_reports_an_error_is_unhealthy_even_when_fresh() -> None:
    assert not judge(row(1, status="error"), "thumbnails", grace=2.5, min_age=15).healthy


def test_a_service_that_never_beat_is_unhealthy() -> None:
    assert "no heartbeat" in judge(None, "backup", grace=2.5, min_age=15).reason


def test_a_degraded_service_with_a_fresh_heartbeat_is_still_alive() -> None:
    assert judge(row(1, status="degraded"), "geocode", grace=2.5, min_age=15).healthy


def test_a_replica_whose_shared_row_was_written_by_another_host_is_judged_by_its_own_lease() -> None:
    shared = row(1)  # written by host "h"
    assert judge(shared, "thumbnails", grace=2.5, min_age=15, host="other", lease_age=5).healthy
    dead = judge(shared, "thumbnails", grace=2.5, min_age=15, host="other", lease_age=300)
    assert not dead.healthy and "lease" in dead.reason


def test_without_a_lease_the_shared_row_decides() -> None:
    assert judge(row(1), "backup", grace=2.5, min_age=15, host="other", lease_age=None).healthy
