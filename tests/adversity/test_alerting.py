"""Alerts under adversity: two monitors, the database going away mid-run, a flapping service, a
dead-man's URL that hangs, maintenance, clock jumps. Real PostgreSQL (through a TCP proxy that
can be cut), real webhook and ping receivers on loopback, real monitor rounds in-process; time
is injected where it matters, nothing is slept against a clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from service_monitor.service import Monitor, build
from service_monitor.settings import MonitorSettings

from photo_factory import db, settings
from tests.support import invariants
from tests.support.monitoring_samples import WebhookReceiver, fetch, seed_heartbeat
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def env(pf_env: dict[str, str], hook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    extra = {"PF_DISK_MIN_FREE_PERCENT": "0", "PF_DISK_MIN_FREE_GB": "0", "PF_ALERT_URLS": hook.url,
             "PF_ALERT_RECOVERY_SECONDS": "0", "PF_ALERT_DB_CONFIRM_SECONDS": "0"}
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return {**pf_env, **extra}


def monitor(database_url: str | None = None, **overrides: Any) -> Monitor:
    core = settings.load(settings.CoreSettings, **({"database_url": database_url} if database_url else {}))
    return build(core, settings.load(MonitorSettings, **overrides))


def titles(hook: WebhookReceiver, text: str) -> list[str]:
    return [t for t in hook.titles() if text in t]


def promise(pf_env: dict[str, str], storage: dict) -> None:
    """No file was touched: the invariant holds over the (empty) inbox and storage."""
    invariants.check(pf_env["PF_DATABASE_URL"], storage["inbox"], storage["storage"], set())


def test_two_monitors_send_one_alert_per_problem(env, storage, database_url, hook):
    a, b = monitor(), monitor()
    seed_heartbeat(database_url, "librarian", "ok", age_s=600, interval_s=60)
    for _ in range(3):
        a.work_once()
        b.work_once()
    assert titles(hook, "PROBLEM: librarian is stale") == ["[Photo Factory] PROBLEM: librarian is stale"]
    a.store.close(), b.store.close()
    promise(env, storage)


def test_the_database_going_away_is_one_root_alert_then_one_recovery_with_its_duration(
        env, storage, database_url, hook):
    proxy = TcpProxy.for_url(database_url).start()
    url = proxy.url(database_url)
    seed_heartbeat(database_url, "librarian", "ok", age_s=0, interval_s=60)
    seed_heartbeat(database_url, "thumbnails", "ok", age_s=0, interval_s=60)
    first, second = monitor(url), monitor(url)
    first.work_once()  # the first to take the lock leads
    second.work_once()
    assert first.outage.was_leader and not second.outage.was_leader
    proxy.cut()
    for _ in range(3):
        for m in (first, second):
            with pytest.raises(db.UNAVAILABLE):
                m.work_once()
    assert titles(hook, "factory-db") == ["[Photo Factory] PROBLEM: factory-db is unreachable"]
    # the services could not beat meanwhile: their heartbeats are old when the database is back
    proxy.restore()
    with db.Database(database_url, "test").transaction() as cur:
        cur.execute("UPDATE system_status SET last_heartbeat = now() - interval '10 minutes'"
                    " WHERE service IN ('librarian', 'thumbnails')")
    for _ in range(2):
        first.work_once()
        second.work_once()
    assert titles(hook, "RESOLVED: factory-db") == ["[Photo Factory] RESOLVED: factory-db is unreachable"]
    resolved = next(m for m in hook.messages if "RESOLVED" in m.get("title", ""))
    assert "back after" in resolved["message"]
    assert titles(hook, "librarian") == [] and titles(hook, "thumbnails") == [], hook.titles()
    rows = fetch(database_url, "SELECT kind, resolved_at IS NOT NULL AS resolved FROM alert_incidents"
                               " WHERE kind = 'database'")
    assert rows == [{"kind": "database", "resolved": True}]
    first.store.close(), second.store.close()
    proxy.close()
    promise(env, storage)


def test_a_low_disk_is_one_alert_not_one_per_failing_service(env, storage, database_url, hook, monkeypatch):
    monkeypatch.setenv("PF_DISK_MIN_FREE_PERCENT", "100")  # every volume is "low"
    seed_heartbeat(database_url, "librarian", "error", message="No space left on device")
    seed_heartbeat(database_url, "thumbnails", "error", message="No space left on device")
    m = monitor()
    m.work_once()
    assert len(hook.titles()) == 2, hook.titles()  # storage and inbox volumes; no service alert
    assert all("low disk space" in t for t in hook.titles())
    assert "affected: librarian, thumbnails" in hook.messages[0]["message"]
    m.store.close()
    promise(env, storage)


def test_a_flapping_service_is_one_problem_and_one_recovery(env, storage, database_url, hook, monkeypatch):
    monkeypatch.setenv("PF_ALERT_RECOVERY_SECONDS", "3600")
    m = monitor()
    for i in range(6):
        seed_heartbeat(database_url, "geocode", "error" if i % 2 == 0 else "ok", message="geocoder flaps")
        m.work_once()
    assert titles(hook, "geocode") == ["[Photo Factory] PROBLEM: geocode is error"]
    m.store.close()
    promise(env, storage)


class HangingPing:
    """A ping receiver; ``hang`` makes every request wait until released."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.hang = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                outer.paths.append(self.path)
                if outer.hang.is_set():
                    outer.release.wait(120)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_the_dead_mans_ping_says_fine_or_fail_and_a_hanging_url_never_blocks_the_monitor(
        env, storage, database_url, hook, monkeypatch):
    ping = HangingPing()
    try:
        monkeypatch.setenv("PF_HEALTHCHECK_PING_URL", ping.url)
        seed_heartbeat(database_url, "librarian", "ok")
        m = monitor()
        m.work_once()
        m.pinger.join(30)
        seed_heartbeat(database_url, "librarian", "ok", age_s=600)
        m.work_once()
        m.pinger.join(30)
        assert ping.paths == ["/ping/abc", "/ping/abc/fail"]
        ping.hang.set()
        rounds = [m.work_once() for _ in range(3)]  # returns while the first ping still hangs
        assert rounds == [False, False, False] and not ping.release.is_set()
        assert m.pinger.skipped == 2 and len(ping.paths) == 3
    finally:
        ping.close()
    m.store.close()
    promise(env, storage)


def test_maintenance_holds_alerts_and_what_still_lasts_is_sent_after_it(env, storage, database_url, hook):
    from photo_factory.operator import OperatorStore

    ops = OperatorStore(database_url)
    ops.maintenance_on(3600, "moving the NAS", "owner")
    m = monitor()
    seed_heartbeat(database_url, "librarian", "error", message="disk moved")
    seed_heartbeat(database_url, "geocode", "error", message="briefly broken")
    m.work_once()
    seed_heartbeat(database_url, "geocode", "ok")  # came and went during maintenance
    m.work_once()
    assert hook.titles() == []
    assert fetch(database_url, "SELECT count(*) AS n FROM alert_incidents")[0]["n"] == 2  # recorded
    ops.maintenance_off("owner")
    m.work_once()
    assert hook.titles() == ["[Photo Factory] PROBLEM: librarian is error"]
    ops.close()
    m.store.close()
    promise(env, storage)


def test_a_clock_jump_neither_repeats_nor_skips_the_daily_digest(env, storage, database_url, hook, monkeypatch):
    monkeypatch.setenv("PF_ALERT_DIGEST_HOUR", "8")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("PF_TIMEZONE", "UTC")
    seed_heartbeat(database_url, "librarian", "ok")
    m = monitor()
    day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    # the database's clock decides "done today": the marks are compared with the digest's start
    for now in (day, day + timedelta(minutes=5), day - timedelta(hours=3), day + timedelta(minutes=10)):
        m.clock = lambda now=now: now
        m.send_digest()
    assert len(titles(hook, "daily digest")) == 1
    m.clock = lambda: day + timedelta(days=1)
    m.send_digest()
    assert len(titles(hook, "daily digest")) == 2
    m.store.close()
    promise(env, storage)
