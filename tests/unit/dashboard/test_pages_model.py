"""The pure parts of the Pipeline, Library, Service and History pages."""

from __future__ import annotations

import datetime as dt

from dashboard import logs, stages
from dashboard.library_search import PAGE_SIZE, Filters, month_grid, next_cursor
from dashboard.views import URLS, url_path

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def numbers(**over) -> dict:
    base = {"totals": {"files": 100, "located": 40, "thumbnailed": 60, "geocoded": 10, "backed_up": 0},
            "done_today": {"thumbnails": 5}, "ingested_today": 9, "ingested_last_hour": 120,
            "quarantine": {"quarantined": 2}, "oldest": {"thumbnails": NOW - dt.timedelta(hours=3)},
            "jobs": {"thumbnails": {"claimed": 4, "failed": 6}}, "panoramas": {"pending": 1, "failed": 0,
                                                                              "claimed": 0, "done_total": 2}}
    return {**base, **over}


def svc(name: str, effective: str, details: dict | None = None, message: str = "") -> dict:
    return {"service": name, "effective": effective, "details": details or {}, "message": message}


def test_failed_and_in_flight_items_are_not_counted_as_pending():
    rows = {r["stage"]: r for r in stages.stage_rows(numbers(), [], NOW)}
    thumbs = rows["thumbnails"]
    assert (thumbs["pending"], thumbs["in flight"], thumbs["failed"]) == (30, 4, 6)  # 100 - 60 done - 4 - 6
    assert (thumbs["done today"], thumbs["done total"]) == (5, 60)
    assert thumbs["oldest pending"] == "3h"
    assert rows["geocode"]["pending"] == 30  # only located photos are the geocoder's work


def test_the_ingest_node_reads_the_librarians_queue_depth():
    rows = stages.stage_rows(numbers(), [svc("librarian", "ok", {"queue_depth": 17})], NOW)
    assert rows[0]["stage"] == "ingest" and rows[0]["pending"] == 17 and rows[0]["rate /min"] == 2.0


def test_stitch_is_drawn_once_and_quarantine_is_on_the_diagram():
    rows = stages.stage_rows(numbers(), [], NOW)
    assert [r["stage"] for r in rows] == ["ingest", "thumbnails", "geocode", "backup", "stitch"]
    dot = stages.diagram(rows, quarantined=2)
    assert dot.count('"stitch" [') == 1 and "panoramas" not in dot.split("->")[0].split("stitch")[0]
    assert "quarantine\\n2 file(s)" in dot and '"ingest" -> quarantine' in dot


def test_a_stopped_workers_node_looks_stopped_and_a_backup_without_remote_is_flagged():
    services = [svc("thumbnails", "stopped"), svc("geocode", "ok"),
                svc("backup", "degraded", {"remote": ""}, "no remote configured (set PF_BACKUP_REMOTE)")]
    rows = {r["stage"]: r for r in stages.stage_rows(numbers(), services, NOW)}
    dot = stages.diagram(list(rows.values()), 0)
    thumbs_line = next(line for line in dot.splitlines() if line.startswith('"thumbnails"'))
    geocode_line = next(line for line in dot.splitlines() if line.startswith('"geocode"'))
    assert "thumbnails · stopped" in thumbs_line and "dashed" in thumbs_line
    assert "dashed" not in geocode_line
    assert "no remote configured" in rows["backup"]["note"]
    assert "⚠ no remote configured" in dot


def test_every_page_has_its_own_address():
    assert url_path("Failed items") == "failed" and url_path("Overview") == ""
    assert len(set(URLS.values())) == len(URLS)


def test_the_month_grid_has_every_month_of_every_year_including_empty_ones():
    grid = month_grid([{"month": dt.date(2004, 3, 1), "files": 5}, {"month": dt.date(2024, 11, 1), "files": 2}])
    assert len(grid) == 21 * 12
    assert {"year": 2010, "month": 6, "files": 0} in grid
    assert {"year": 2004, "month": 3, "files": 5} in grid


def test_filters_escape_like_wildcards_and_pages_continue_after_the_last_row():
    p = Filters(name="100%_a").params()
    assert p["name"] == "%100\\%\\_a%" and p["city"] is None
    rows = [{"capture_date": dt.date(2020, 1, 1), "id": i} for i in range(PAGE_SIZE)]
    assert next_cursor(rows) == (dt.date(2020, 1, 1), PAGE_SIZE - 1)
    assert next_cursor(rows[:-1]) is None


def test_docker_timestamps_are_not_doubled_and_the_filter_keeps_matching_lines():
    text = ("2026-12-01T10:00:00.123456789Z 2026-12-01 10:00:00,123 INFO librarian: filed a.jpg\n"
            "2026-12-01T10:00:01.000000000Z plain line from a tool\n")
    cleaned = logs.clean(text)
    assert cleaned.splitlines()[0] == "2026-12-01 10:00:00,123 INFO librarian: filed a.jpg"
    assert cleaned.splitlines()[1].startswith("2026-12-01T10:00:01")  # its only timestamp stays
    assert logs.matching(cleaned, "FILED") == "2026-12-01 10:00:00,123 INFO librarian: filed a.jpg"


def test_a_process_log_is_tailed_from_its_end(tmp_path):
    log = tmp_path / "librarian.log"
    log.write_text("".join(f"line {i}\n" for i in range(10_000)))
    assert logs.tail(log, 3) == "line 9997\nline 9998\nline 9999"
    assert logs.tail(log, 5, max_bytes=30).splitlines()[-1] == "line 9999"
    assert logs.process_log("librarian", tmp_path) == log and logs.process_log("x", tmp_path) is None


def test_heartbeat_details_are_shown_readably():
    from dashboard.views.service import detail_rows

    rows = detail_rows({"queue_depth": 3, "quarantined_by_reason": {"undecodable": 2}, "rate_per_min": 1.5,
                        "last_error": None})
    assert {"detail": "quarantined by reason", "value": '{"undecodable": 2}'} in rows
    assert {"detail": "rate per min", "value": "1.50"} in rows and {"detail": "last error", "value": "–"} in rows


def test_failed_items_make_a_node_red_and_every_stage_hangs_off_the_library():
    rows = stages.stage_rows(numbers(), [svc("thumbnails", "ok")], NOW)
    dot = stages.diagram(rows, 0)
    assert "color=red" in next(line for line in dot.splitlines() if line.startswith('"thumbnails"'))
    assert 'library -> "thumbnails"' in dot and 'library -> "stitch"' in dot
