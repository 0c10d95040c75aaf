"""The one-glance verdict and the status report (pure; the pipeline diagram: test_pages_model)."""

from __future__ import annotations

from dashboard import verdict
from dashboard.format import age, size
from dashboard.status import render
from dashboard.views.overview import markdown_table


def svc(name: str, status: str = "ok", age_s: float = 5, interval_s: float = 60) -> dict:
    return {"service": name, "status": status, "message": "m", "age_s": age_s, "interval_s": interval_s}


def test_an_overdue_heartbeat_reads_as_stale_before_the_monitor_marks_it():
    [row] = verdict.with_effective([svc("librarian", age_s=181)], stale_factor=3)
    assert row["effective"] == "stale" and row["level"] == "error"
    assert row["message"].startswith("no heartbeat for 181s")


def test_everything_ok_is_fine():
    v = verdict.overall(verdict.with_effective([svc("librarian"), svc("disk")], 3))
    assert v.ok and v.headline == "Everything is fine"


def test_a_degraded_service_or_a_quarantined_file_needs_attention_and_stale_is_wrong():
    services = verdict.with_effective([svc("librarian", "degraded")], 3)
    assert verdict.overall(services).level == "warning"
    assert verdict.overall(verdict.with_effective([svc("x")], 3), quarantined=1).level == "warning"
    assert verdict.overall(verdict.with_effective([svc("x", "stale")], 3)).level == "error"


def test_an_open_incident_makes_the_verdict_an_error():
    v = verdict.overall(verdict.with_effective([svc("x")], 3),
                        incidents=[{"severity": "error", "subject": "low disk space on storage"}])
    assert v.level == "error" and v.problems == ["alert: low disk space on storage"]


def test_no_heartbeat_at_all_is_not_fine():
    assert verdict.overall([]).level == "warning"


def test_services_are_listed_in_pipeline_order():
    rows = verdict.with_effective([svc("disk"), svc("zzz"), svc("librarian")], 3)
    assert [r["service"] for r in rows] == ["librarian", "disk", "zzz"]


def test_the_status_report_lists_services_and_queues():
    text = render({"verdict": "error", "headline": "Something is wrong", "problems": ["librarian is stale"],
                   "services": [{"service": "librarian", "status": "stale", "age_s": 400, "message": "x"}],
                   "queues": {"thumbnails": 3}, "failed_items": 1, "quarantined": 0})
    assert "Something is wrong" in text and "librarian" in text and "thumbnails 3" in text


def test_formatting_helpers():
    assert age(42) == "42s" and age(3600) == "1h" and age(None) == "–"
    assert size(512) == "512 B" and size(1536) == "1.5 KB"
    assert markdown_table([{"a": "x|y", "b": None}]).splitlines()[-1] == "| x\\|y | – |"


def test_a_failed_restore_drill_makes_the_verdict_an_error():
    services = verdict.with_effective([svc("backup")], 3)
    drill = {"id": 4, "result": "failed", "mismatches": 0, "missing": 2, "detail": {}}
    v = verdict.overall(services, drill=drill)
    assert v.level == "error" and v.problems == ["last restore drill #4 failed: 0 file(s) differ, 2 missing"]
    assert verdict.overall(services, drill={**drill, "result": "passed"}).ok
    could_not = verdict.overall(services, drill={**drill, "detail": {"error": "remote_not_found: gone"}})
    assert "could not restore (remote_not_found: gone)" in could_not.problems[0]


def test_a_failed_drill_is_an_error_even_before_any_service_reported():
    v = verdict.overall([], drill={"id": 1, "result": "failed", "mismatches": 1, "missing": 0, "detail": {}})
    assert v.level == "error" and "no heartbeats in system_status" in v.problems
