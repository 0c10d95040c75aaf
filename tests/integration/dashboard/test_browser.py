"""The dashboard in a real browser: Playwright drives the system Chromium (no browser download)
against the real ``photo-factory dashboard`` on a seeded database, opening every page by its URL
and checking what a user must see. Screenshots go to ``test-artifacts/dashboard-<page>.png``
(gitignored). One server and one browser for the module: the suite stays well under a minute.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import requests

from tests.support.monitoring_samples import free_port

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and
                 os.access(p, os.X_OK)), None)
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("browser"),
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
#: the History chart's colour for "ingested" (dashboard.views.history.KIND_COLOURS)
INGESTED_RGB = (0x1F, 0x77, 0xB4)

SEED = """
INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type, captured_local,
       capture_date, date_source, tz_source, camera_make, camera_model, is_thumbnailed, location,
       country_code, country, region, city, geocoded_at, is_geocoded)
SELECT lpad(to_hex(i), 64, '0'), 'Library/2024/2024-06-0' || (1 + i % 9) || '/IMG_' || i || '.JPG',
       'IMG_' || i || '.JPG', 1000 + i, 'image', timestamp '2024-06-01 12:00' + make_interval(days => i % 9),
       date '2024-06-01' + i % 9, 'EXIF:DateTimeOriginal', 'configured', 'Canon', 'EOS R6', i = 1,
       jsonb_build_object('lat', 46.62 + i / 1000.0, 'lon', 8.04), 'CH', 'Switzerland', 'Bern', 'Grindelwald',
       now(), true
  FROM generate_series(1, 30) AS i;
-- one point per kind, in the current hour: the first hour of a fresh install
INSERT INTO ingest_events (kind) SELECT 'ingested' FROM generate_series(1, 5);
INSERT INTO ingest_events (kind) VALUES ('quarantined');
INSERT INTO system_status (service, status, message, details, interval_s, host) VALUES
 ('librarian', 'ok', 'watching the inbox', '{"queue_depth": 7, "files_ingested": 30,
   "quarantined_by_reason": {"undecodable": 1}}', 60, 'test'),
 ('thumbnails', 'ok', '3 pending', '{"queue": 3, "rate_per_min": 4.5}', 60, 'test'),
 ('geocode', 'stopped', 'stopped after 12 done', '{}', 60, 'test'),
 ('backup', 'degraded', 'no remote configured (set PF_BACKUP_REMOTE): nothing is backed up',
  '{"remote": ""}', 60, 'test');
INSERT INTO system_status_history (service, status, message)
SELECT service, status, message FROM system_status;
INSERT INTO stage_jobs (asset_id, stage, state, attempts, reason_code, last_error)
VALUES (5, 'thumbnails', 'failed', 5, 'undecodable', 'decoder said no');
INSERT INTO quarantine (reason, detail, source_path, quarantine_path, original_name, size_bytes)
VALUES ('undecodable', 'cannot decode', 'broken.jpg', 'Quarantine/undecodable/broken.jpg', 'broken.jpg', 12);
"""


@pytest.fixture(scope="module")
def dashboard_url(pg_server_url: str, template_db: str, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A seeded database, one thumbnail on disk, and ``photo-factory dashboard`` serving them."""
    name = f"pf_t_browser_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    url = urlunsplit(urlsplit(pg_server_url)._replace(path="/" + name))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(SEED)
    conn.close()
    root = tmp_path_factory.mktemp("browser")
    storage, inbox = root / "storage", root / "inbox"
    inbox.mkdir()
    from PIL import Image

    thumb = storage / "Derivatives/thumbnails/256/2024/2024-06-09/IMG_26.JPG.jpg"  # on page 1
    thumb.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), "teal").save(thumb)
    port = free_port()
    log = root / "dashboard.log"
    env = {**os.environ, "PF_DATABASE_URL": url, "PF_STORAGE_DIR": str(storage), "PF_INBOX_DIR": str(inbox),
           "PF_DOCKER_URL": "unix:///nonexistent/docker.sock", "PF_DASHBOARD_REFRESH_S": "0",
           "PF_VAR_DIR": str(root / "var")}
    (root / "var/logs").mkdir(parents=True)
    (root / "var/logs/librarian.log").write_text(
        "2026-01-01 10:00:00,000 INFO    librarian: filed IMG_1.JPG\n"
        "2026-01-01 10:00:01,000 WARNING librarian: quarantined broken.jpg (undecodable)\n")
    exe = str(Path(sys.executable).with_name("photo-factory"))
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "dashboard", "--port", str(port),
                                 "--address", "127.0.0.1"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, "dashboard exited: " + log.read_text()[-2000:]
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                               "--disable-dev-shm-usage"])
        yield b
        b.close()


def open_page(browser, dashboard_url, path: str, expect: str, shot: str):
    """Open ``path`` in a fresh page, wait until ``expect`` is on it and the run finished."""
    base, _ = dashboard_url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base + path, timeout=150_000)
    page.get_by_text(expect, exact=False).first.wait_for(timeout=150_000)
    # the run finished and the lazily loaded elements (charts, tables, images) have arrived
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=150_000)
    try:
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                               timeout=30_000)
    except playwright_api.TimeoutError:
        skeleton = page.locator('[data-testid="stSkeleton"]').first
        print("still loading:", skeleton.evaluate("e => e.parentElement.parentElement.outerHTML.slice(0, 600)"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{shot}.png"), full_page=True)
    return page


def test_the_overview_at_the_root_shows_the_verdict_and_the_services(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/", "watching the inbox", "overview")
    body = page.inner_text("body")
    assert any(dot in body for dot in ("🟢", "🟠", "🔴"))  # the verdict
    assert "librarian" in body and "service-monitor" in body
    nav = page.locator('[data-testid="stSidebarNav"] a')
    assert {"/failed", "/pipeline", "/library", "/history"} <= {
        urlsplit(nav.nth(i).get_attribute("href") or "").path for i in range(nav.count())}


def test_the_pipeline_page_shows_each_stages_numbers_and_worker(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/pipeline", "pending 7", "pipeline")
    svg = page.locator('[data-testid="stGraphVizChart"] svg').text_content() or ""
    assert "ingest · ok" in svg and "pending 7" in svg  # the librarian's queue_depth
    assert "thumbnails · ok" in svg and "failed 1" in svg and "pending 28" in svg  # 30 - 1 done - 1 failed
    assert "done 5 today / 30" in svg
    assert "geocode · stopped" in svg and "quarantine" in svg and "no remote configured" in svg
    assert svg.count("stitch ·") == 1  # stitch (the panoramas) drawn once


def test_the_library_page_shows_a_thumbnail_the_heatmap_and_a_map(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/library", "IMG_26.JPG", "library")
    page.wait_for_function("() => [...document.images].some(i => i.complete && i.naturalWidth === 64)",
                           timeout=60_000)
    assert page.locator('[data-testid="stDeckGlJsonChart"]').count() == 1  # the map
    assert "Grindelwald, Bern, Switzerland" in page.inner_text("body")
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1  # the year x month heatmap


def test_the_history_charts_draw_points_in_the_first_hour(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/history", "Uptime per service", "history")
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg").first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # vega-embed draws on the next animation frame
    png = chart.screenshot()
    from io import BytesIO

    from PIL import Image

    img = Image.open(BytesIO(png)).convert("RGB")
    plot = img.crop((0, 0, int(img.width * 0.7), img.height))  # the legend (right) has the colour too
    close = sum(1 for px in plot.get_flattened_data()
                if all(abs(a - b) < 20 for a, b in zip(px, INGESTED_RGB, strict=True)))
    assert close >= 20, f"no marker of the one-point 'ingested' series drawn ({close} px)"


def test_the_service_page_shows_details_readably_and_the_process_log(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/service?service=librarian", "Heartbeat details", "service")
    body = page.inner_text("body")
    assert "queue depth" in body and "{…}" not in body
    assert '{"undecodable": 1}' in body  # a nested detail, readable
    assert "quarantined broken.jpg" in body  # the process log make run's supervisor writes


def test_the_failed_items_page_has_its_own_address(browser, dashboard_url):
    page = open_page(browser, dashboard_url, "/failed", "Failed processing", "failed")
    assert "Quarantine" in page.inner_text("body")


def test_no_page_logged_a_deprecation_warning(browser, dashboard_url):
    """Runs last: every page has been rendered by then (the backup page here)."""
    open_page(browser, dashboard_url, "/backup", "Last runs", "backup").close()
    log = dashboard_url[1].read_text()
    assert "deprecat" not in log.lower(), log
    assert "Traceback" not in log, log
