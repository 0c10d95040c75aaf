"""Sidecars that arrive before or after their photo: they wait, become orphans, are re-attached."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.integration.librarian.conftest import files
from tests.support import invariants, samples, sidecar_samples

pytestmark = pytest.mark.integration


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def inputs(inbox: Path) -> set[str]:
    return {sha(p) for p in inbox.rglob("*") if p.is_file()}


def test_a_sidecar_that_arrives_first_waits_for_its_photo(storage, ingest, query, database_url):
    inbox, store = storage["inbox"], storage["storage"]
    side = sidecar_samples.xmp(inbox / "IMG_5.JPG.xmp", DateTimeOriginal="2020:02:02 02:02:02")
    originals = inputs(inbox)
    ingest()  # no photo yet: it waits in the inbox (PF_SIDECAR_WAIT_SECONDS, default an hour)
    assert side.exists() and files(store / "Quarantine") == []
    samples.photo(inbox / "IMG_5.JPG", None, seed=5)
    originals |= inputs(inbox)
    ingest()
    assert files(store / "Library") == ["2020/2020-02-02/IMG_5.JPG", "2020/2020-02-02/IMG_5.JPG.xmp"]
    invariants.check(database_url, inbox, store, originals)


def test_an_orphan_sidecar_is_kept_in_quarantine_and_reattached_when_its_photo_comes(storage, ingest, query,
                                                                                   database_url):
    inbox, store = storage["inbox"], storage["storage"]
    sidecar_samples.takeout_json(inbox / "trip" / "IMG_7.JPG.json", "IMG_7.JPG", datetime(2021, 3, 3, 3, tzinfo=UTC))
    originals = inputs(inbox)
    ingest(sidecar_wait_seconds=0)
    [q] = query("SELECT * FROM quarantine")
    assert q["reason"] == "orphan_sidecar" and q["source_path"] == "trip/IMG_7.JPG.json"
    invariants.check(database_url, inbox, store, originals)
    samples.photo(inbox / "trip" / "IMG_7.JPG", None, seed=7)  # no date of its own: the orphan's counts
    originals |= inputs(inbox)
    ingest(sidecar_wait_seconds=0)
    assert query("SELECT * FROM quarantine") == []
    assert query("SELECT date_source FROM media_assets") == [{"date_source": "takeout:photoTakenTime"}]
    assert files(store / "Library") == ["2021/2021-03-03/IMG_7.JPG", "2021/2021-03-03/IMG_7.JPG.json"]
    [s] = query("SELECT * FROM asset_sidecars")
    assert s["source_path"] == "trip/IMG_7.JPG.json" and s["kind"] == "takeout_json"
    events = [r["kind"] for r in query("SELECT kind FROM ingest_events ORDER BY id")]
    assert events[-1] == "sidecar_attached"
    invariants.check(database_url, inbox, store, originals)


def test_a_restart_does_not_restart_a_sidecars_wait(storage, ingest, query, database_url):
    """The wait counts from the sidecar's arrival in the inbox, not from when this process first saw
    it: a librarian restarted every few minutes (an OOM loop, upgrades) still ends the wait."""
    inbox, store = storage["inbox"], storage["storage"]
    side = sidecar_samples.xmp(inbox / "IMG_9.JPG.xmp", DateTimeOriginal="2020:02:02 02:02:02")
    originals = inputs(inbox)
    ingest(sidecar_wait_seconds=2)
    assert side.exists() and query("SELECT * FROM quarantine") == []  # waits
    time.sleep(2.5)
    ingest(sidecar_wait_seconds=2)  # a new process: the file has waited 2.5 s, not 0
    [q] = query("SELECT reason, source_path FROM quarantine")
    assert q == {"reason": "orphan_sidecar", "source_path": "IMG_9.JPG.xmp"}
    invariants.check(database_url, inbox, store, originals)


def test_a_sidecar_that_comes_after_its_photo_is_attached_and_a_disagreeing_date_flagged(storage, ingest, query,
                                                                                       database_url):
    inbox, store = storage["inbox"], storage["storage"]
    samples.photo(inbox / "d" / "IMG_3.JPG", "2023:03:03 10:00:00", seed=3)
    originals = inputs(inbox)
    ingest()
    sidecar_samples.takeout_json(inbox / "d" / "IMG_3.JPG.supplemental-metadata.json", "IMG_3.JPG",
                                 datetime(2020, 1, 1, tzinfo=UTC))
    originals |= inputs(inbox)
    ingest()
    assert files(store / "Library") == ["2023/2023-03-03/IMG_3.JPG", "2023/2023-03-03/IMG_3.JPG.json"]
    [a] = query("SELECT * FROM media_assets")
    assert a["capture_date"] == date(2023, 3, 3) and a["date_suspicious"]
    assert "came later" in a["metadata"]["PF:SuspiciousDate"]
    invariants.check(database_url, inbox, store, originals)


def test_the_running_librarian_waits_for_a_sidecars_photo_then_keeps_it_as_an_orphan(pf_env, storage, database_url,
                                                                                   query):
    def wait_for(pred, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.2)
        return False

    inbox, store = storage["inbox"], storage["storage"]
    staged = sidecar_samples.xmp(inbox.parent / "staging" / "IMG_4.JPG.xmp", DateTimeOriginal="2020:04:04 04:04:04")
    originals = {sha(staged)}
    env = {**pf_env, "PF_SIDECAR_WAIT_SECONDS": "4", "PF_RESCAN_SECONDS": "3600"}
    cli = str(Path(sys.executable).with_name("photo-factory"))
    proc = subprocess.Popen([cli, "librarian"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: query("SELECT 1 FROM system_status WHERE service = 'librarian'") != [])
        staged.replace(inbox / "IMG_4.JPG.xmp")
        assert wait_for(lambda: query("SELECT reason FROM quarantine") == [{"reason": "orphan_sidecar"}])
        photo = samples.photo(inbox.parent / "staging" / "IMG_4.JPG", None, seed=4)
        originals.add(sha(photo))
        photo.replace(inbox / "IMG_4.JPG")
        assert wait_for(lambda: len(query("SELECT 1 FROM asset_sidecars")) == 1
                        and query("SELECT 1 FROM quarantine") == [])
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert files(store / "Library") == ["2020/2020-04-04/IMG_4.JPG", "2020/2020-04-04/IMG_4.JPG.xmp"]
    invariants.check(database_url, inbox, store, originals)
