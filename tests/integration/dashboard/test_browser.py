"""One real browser: headless Chromium opens the running dashboard and the overview shows the services.

The screenshot is saved as ``test-artifacts/dashboard-overview.png`` (gitignored).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.monitoring_samples import free_port, seed_heartbeat

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
         "--virtual-time-budget=30000", *extra, url],
        capture_output=True, text=True, timeout=180)


@pytest.fixture
def running_dashboard(pf_env, database_url):
    port = free_port()
    env = {**pf_env, "PF_DOCKER_URL": "unix:///nonexistent/docker.sock", "PF_DASHBOARD_REFRESH_S": "0"}
    exe = str(Path(sys.executable).with_name("photo-factory"))
    proc = subprocess.Popen([exe, "dashboard", "--port", str(port), "--address", "127.0.0.1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, "dashboard exited"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_the_overview_in_a_real_browser_shows_the_services(running_dashboard, database_url, tmp_path):
    seed_heartbeat(database_url, "librarian", "ok", message="watching the inbox")
    seed_heartbeat(database_url, "thumbnails", "ok", age_s=3600, interval_s=60)
    for attempt in range(5):  # a fresh server on a busy machine may need more than one budget
        dom = chromium(running_dashboard, tmp_path / f"profile{attempt}", "--dump-dom").stdout
        if "thumbnails is stale" in dom and "watching the inbox" in dom and "service-monitor" in dom:
            break
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard-overview.html").write_text(dom)
    assert "Photo Factory" in dom
    assert "thumbnails is stale" in dom
    assert "watching the inbox" in dom and "service-monitor" in dom  # the services table
    shot = ARTIFACTS / "dashboard-overview.png"
    chromium(running_dashboard, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
