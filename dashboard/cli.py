"""``photo-factory dashboard [--port 8501]``: run Streamlit on the app, and beat for it.

The command runs ``streamlit run dashboard/app.py`` as a child process and, every
``PF_DASHBOARD_HEARTBEAT_SECONDS`` (5 minutes by default), beats ``ok`` when Streamlit's
health endpoint answers and ``error`` when it does not. SIGTERM stops both.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from dashboard.settings import DashboardSettings
from photo_factory import commands, loop
from photo_factory.heartbeat import HeartbeatService

log = logging.getLogger(__name__)
SERVICE = "dashboard"
APP = Path(__file__).with_name("app.py")


#: Streamlit may take this long to answer its health endpoint after a cold start.
STARTUP_GRACE_S = 60.0


def streamlit_argv(port: int, address: str) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            # the welcome banner looks up the "external IP" on the internet: no data leaves the house
            "--logger.hideWelcomeMessage", "true",
            "--client.toolbarMode", "viewer"]


def healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).ok
    except requests.RequestException:
        return False


@click.command()
@click.option("--port", default=8501, show_default=True, help="HTTP port of the dashboard.")
@click.option("--address", default="127.0.0.1", show_default=True, envvar="PF_DASHBOARD_ADDRESS",
              help="Address to listen on (PF_DASHBOARD_ADDRESS; 0.0.0.0: every interface, set a password).")
def command(port: int, address: str) -> None:
    """Run the Streamlit dashboard (optional password: PF_DASHBOARD_PASSWORD)."""
    core = commands.core_settings()
    settings = commands.load_settings(DashboardSettings)
    stopper = loop.Stopper()
    stopper.install_signal_handlers()
    beat = HeartbeatService(core.database_url, SERVICE, settings.dashboard_heartbeat_seconds)
    proc = subprocess.Popen(streamlit_argv(port, address))
    log.info("dashboard on http://%s:%d (pid %d)", address, port, proc.pid)
    beat.set("starting", f"starting on port {port}", port=port)
    beat.start()
    check_every = min(settings.dashboard_heartbeat_seconds, 10.0)
    started = time.monotonic()
    try:
        while not stopper.stop.is_set() and proc.poll() is None:
            if healthy(port):
                if beat.status != "ok":
                    beat.set("ok", f"serving on port {port}")  # a status change is written at once
            elif beat.status != "starting" or time.monotonic() - started > STARTUP_GRACE_S:
                beat.set("degraded", "streamlit health check failing")
            stopper.sleep(check_every)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        code = proc.returncode
        if not stopper.stop.is_set():
            beat.set("error", f"streamlit exited with {code}")
            beat.beat()
        beat.stop("stopped")
    if not stopper.stop.is_set():
        sys.exit(1)
