"""Real local endpoints and seed rows for the monitoring and dashboard tests.

- :class:`WebhookReceiver`: an HTTP server on loopback recording every JSON POST (apprise ``json://``).
- :class:`SmtpReceiver`: an aiosmtpd SMTP server on loopback recording every message (``mailto://``).
- :func:`start_syncthing`: a real ``syncthing serve`` with discovery and relays off, on loopback.
- ``seed_*``: rows as the other services write them.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras

#: settings for monitoring scenarios: no disk or Docker findings from the test machine itself, no
#: refresh loop, alerts that recover at once
SCENARIO_ENV = {"PF_DISK_MIN_FREE_PERCENT": "0", "PF_DISK_MIN_FREE_GB": "0",
                "PF_DOCKER_URL": "unix:///nonexistent/docker.sock", "PF_DASHBOARD_REFRESH_S": "0",
                "PF_ALERT_RECOVERY_SECONDS": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """Records the JSON bodies POSTed to it; ``url`` is an apprise ``json://`` URL."""

    def __init__(self, port: int = 0) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"json://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def titles(self) -> list[str]:
        return [m.get("title", "") for m in self.messages]


class SmtpReceiver:
    """An SMTP server on loopback (aiosmtpd); ``url`` is an apprise ``mailto://`` URL."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.url = (f"mailto://127.0.0.1:{self.port}?from=factory@example.org&to=owner@example.org"
                    "&mode=insecure")

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@dataclass
class Syncthing:
    url: str
    api_key: str
    folder: str
    proc: subprocess.Popen = field(repr=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _configure(config: Path, folder_path: Path, folder_id: str) -> str:
    """Loopback-only options and one folder; return the GUI API key."""
    text = config.read_text()
    for tag, value in (("globalAnnounceEnabled", "false"), ("localAnnounceEnabled", "false"),
                       ("relaysEnabled", "false"), ("natEnabled", "false"), ("urAccepted", "-1"),
                       ("autoUpgradeIntervalH", "0"), ("crashReportingEnabled", "false"),
                       ("startBrowser", "false")):
        text = re.sub(fr"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text)
    text = re.sub(r"<listenAddress>[^<]*</listenAddress>",
                  f"<listenAddress>tcp://127.0.0.1:{free_port()}</listenAddress>", text)
    # replace the default folder with ours
    text = re.sub(r"<folder id=\"[^\"]*\"[^>]*path=\"[^\"]*\"", f'<folder id="{folder_id}" label="inbox" '
                  f'path="{folder_path}"', text, count=1)
    config.write_text(text)
    match = re.search(r"<apikey>([^<]+)</apikey>", text)
    assert match, "no API key in syncthing config"
    return match.group(1)


def start_syncthing(home: Path, folder_path: Path, folder_id: str = "inbox",
                    timeout: float = 60.0) -> Syncthing:
    """Start a real Syncthing on loopback sharing ``folder_path`` as ``folder_id``."""
    exe = shutil.which("syncthing")
    assert exe, "syncthing is not installed"
    folder_path.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "generate", f"--home={home}"], check=True, capture_output=True)
    api_key = _configure(home / "config.xml", folder_path, folder_id)
    port = free_port()
    env = {"STNOUPGRADE": "1", "HOME": str(home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([exe, "serve", f"--home={home}", "--no-browser", "--no-restart",
                             f"--gui-address=127.0.0.1:{port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/rest/system/ping", headers={"X-API-Key": api_key}, timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("syncthing did not start")
        time.sleep(0.3)
    return Syncthing(url, api_key, folder_id, proc)


# -- seed rows -------------------------------------------------------------------------------
@contextmanager
def connect(url: str) -> Iterator[Any]:
    """An autocommit connection, closed on exit."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def seed_heartbeat(url: str, service: str, status: str = "ok", age_s: float = 0.0,
                   interval_s: float = 60.0, message: str = "") -> None:
    """A ``system_status`` row (and a history row) as if ``service`` beat ``age_s`` seconds ago."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            """INSERT INTO system_status (service, status, message, last_heartbeat, interval_s, host)
               VALUES (%s, %s, %s, now() - make_interval(secs => %s), %s, 'test')
               ON CONFLICT (service) DO UPDATE SET status = EXCLUDED.status, message = EXCLUDED.message,
                   last_heartbeat = EXCLUDED.last_heartbeat, interval_s = EXCLUDED.interval_s""",
            (service, status, message or status, age_s, interval_s))
        cur.execute("""INSERT INTO system_status_history (service, status, message, recorded_at)
                       VALUES (%s, %s, %s, now() - make_interval(secs => %s))""",
                    (service, status, message or status, age_s))


def seed_assets(url: str, n: int, *, start: int = 1, thumbnailed_every: int = 2) -> None:
    """``n`` media_assets rows (generate_series: fast for 100k), spread over years and types."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            """INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,
                   captured_local, capture_date, date_source, tz_source, is_thumbnailed, is_backed_up,
                   location, ingested_at)
               SELECT lpad(to_hex(i), 64, '0'),
                      'Library/' || to_char(d, 'YYYY/YYYY-MM-DD') || '/IMG_' || i || '.JPG',
                      'IMG_' || i || '.JPG', 1000 + i,
                      (ARRAY['image', 'image', 'image', 'video', 'raw'])[1 + i %% 5],
                      d, d::date, 'EXIF:DateTimeOriginal', 'configured',
                      i %% %(every)s = 0, i %% 3 = 0,
                      CASE WHEN i %% 4 = 0 THEN '{"lat": 48.1, "lon": 11.5}'::jsonb END,
                      now() - make_interval(mins => i %% 5000)
                 FROM generate_series(%(start)s, %(stop)s) AS i,
                      LATERAL (SELECT timestamp '2015-01-01' + make_interval(days => i %% 3650) AS d) t""",
            {"start": start, "stop": start + n - 1, "every": thumbnailed_every})


def seed_quarantine(url: str, reason: str = "undecodable", name: str = "broken.jpg") -> int:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("""INSERT INTO quarantine (reason, detail, source_path, quarantine_path, original_name,
                                               size_bytes)
                       VALUES (%s, 'cannot decode', %s, %s, %s, 12) RETURNING id""",
                    (reason, name, f"Quarantine/{reason}/{name}", name))
        qid = cur.fetchone()[0]
        cur.execute("""INSERT INTO ingest_events (kind, source_path, detail)
                       VALUES ('quarantined', %s, '{}'::jsonb)""", (name,))
        return qid


def seed_failed_stage_job(url: str, asset_id: int, stage: str = "thumbnails",
                          reason: str = "undecodable") -> None:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("""INSERT INTO stage_jobs (asset_id, stage, state, attempts, reason_code, last_error)
                       VALUES (%s, %s, 'failed', 5, %s, 'decoder said no')""", (asset_id, stage, reason))


def fetch(url: str, sql: str, params: tuple = ()) -> list[dict]:
    with connect(url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return [dict(r) for r in cur.fetchall()]
