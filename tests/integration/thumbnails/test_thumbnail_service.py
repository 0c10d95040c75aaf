"""The long-running ``photo-factory thumbnails`` process: wakes on NOTIFY, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import thumbnail_samples as samples

pytestmark = pytest.mark.integration

EXE = str(Path(sys.executable).with_name("photo-factory"))


def _wait_for(predicate, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_the_worker_wakes_on_notify_and_exits_0_on_sigterm(pf_env, database_url, storage):
    env = {**pf_env, "PF_THUMBNAIL_POLL_SECONDS": "3600", "PF_THUMBNAIL_SIZES": "64"}
    proc = subprocess.Popen([EXE, "thumbnails"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        listening = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'thumbnails-listen' "
                     "AND wait_event = 'ClientRead'")
        _wait_for(lambda: samples.query(database_url, listening) == [(1,)], "the LISTEN connection")
        asset = samples.insert_asset(database_url, storage["storage"], data=samples.jpeg(320, 240))
        samples.query(database_url, "SELECT pg_notify('pf_new_asset', %s)", (str(asset),))
        done = "SELECT is_thumbnailed FROM media_assets WHERE id = %s"
        _wait_for(lambda: samples.query(database_url, done, (asset,)) == [(True,)], "the thumbnail")
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out
    [(status,)] = samples.query(database_url, "SELECT status FROM system_status WHERE service = 'thumbnails'")
    assert status == "stopping"
    assert samples.query(database_url, "SELECT count(*) FROM stage_workers") == [(0,)]


def test_a_worker_rides_out_a_database_outage_and_finishes_the_queue(pf_env, database_url, storage):
    """The database goes away mid-run (a proxy cuts every connection): the worker keeps running,
    backs off, and when the database is back every asset is thumbnailed exactly once."""
    from tests.support.tcp_proxy import TcpProxy

    proxy = TcpProxy.for_url(database_url).start()
    env = {**pf_env, "PF_DATABASE_URL": proxy.url(database_url), "PF_THUMBNAIL_POLL_SECONDS": "1",
           "PF_THUMBNAIL_SIZES": "64", "PF_HEARTBEAT_SECONDS": "1"}
    first = [samples.insert_asset(database_url, storage["storage"], data=samples.jpeg(320, 240)) for _ in range(3)]
    proc = subprocess.Popen([EXE, "thumbnails"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        pending = "SELECT count(*) FROM media_assets WHERE NOT is_thumbnailed"
        _wait_for(lambda: samples.query(database_url, pending) == [(0,)], "the first assets")
        proxy.cut()
        second = [samples.insert_asset(database_url, storage["storage"], data=samples.jpeg(320, 240))
                  for _ in range(3)]
        time.sleep(3)  # the worker polls into the outage and backs off
        assert proc.poll() is None, "the worker died during the outage"
        assert samples.query(database_url, pending) == [(3,)]
        proxy.restore()
        _wait_for(lambda: samples.query(database_url, pending) == [(0,)], "the queue after the outage", 120)
        assert len(first + second) == 6
        assert samples.query(database_url, "SELECT count(*) FROM stage_jobs WHERE stage = 'thumbnails'") == [(0,)]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        proxy.cut()
    assert proc.returncode == 0, out
    assert "database unavailable" in out
