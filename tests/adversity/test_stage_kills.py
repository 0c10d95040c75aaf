"""``kill -9`` stage workers at random moments: nothing is lost, repeated, half-written or failed.

Thirty photos are filed by the real librarian; then, round after round (seeded), two real
``photo-factory thumbnails`` (or ``backup``) workers run and are killed with SIGKILL at random
moments after they started working, and one more is crashed exactly between writing a temporary
file and renaming it. A last ``--once`` run finishes the queue. Afterwards every asset is done
exactly once: flagged, one output per asset (thumbnail files that decode, or one remote copy that
matches), no ``failed`` item, no temporary or ``.partial`` file, and the invariant checker holds.

Before the claim fix, a worker claimed the whole queue at once (a fresh table has no statistics)
and every kill cost every claimed asset an attempt: after three kills the untouched assets ended
``failed / worker_lost``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from processor.geocode import offline
from processor.thumbnails.paths import thumbnail_rel
from tests.integration.geocode.test_geocode_worker import add_photo
from tests.support import faults, invariants, samples
from tests.support.backup_samples import make_crypt_remote
from tests.support.db import query, tuples
from tests.support.thumbnail_samples import query as execute

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")
N_PHOTOS = 30
ROUNDS = 4
LEASE_S = 2.0

@pytest.fixture
def library(pf_env: dict[str, str], database_url: str, storage: dict[str, Path]) -> set[str]:
    """Thirty real photos filed by the real librarian; returns their SHA-256."""
    for i in range(N_PHOTOS):
        samples.image(storage["inbox"] / f"DCIM/IMG_{i:04d}.JPG", size=(960, 720), seed=i, quality=90)
    originals = invariants.contents(invariants.files(storage["inbox"]))
    res = subprocess.run([str(PHOTO_FACTORY), "librarian", "--once"], env={**pf_env, "PF_STABILITY_SECONDS": "0.05"},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert tuples(database_url, "SELECT count(*) FROM media_assets") == [(N_PHOTOS,)]
    return originals


def _start(args: list[str], env: dict[str, str], log: Path, crash: str | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-c", faults.PATCHED_CLI, *args] if crash else [str(PHOTO_FACTORY), *args]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env={**env, "PF_TEST_CRASH": crash or ""}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _registered(database_url: str, proc: subprocess.Popen) -> bool:
    """The worker process is past its start-up: it registered and is claiming."""
    return bool(tuples(database_url, "SELECT 1 FROM stage_workers WHERE pid = %s", proc.pid))


def _kill_rounds(args: list[str], env: dict[str, str], log: Path, database_url: str, seed: int,
                 crash: str) -> int:
    """One worker crashed at ``crash``, then rounds of two workers killed -9 at random moments
    after work began. Returns how many processes were killed while still running."""
    rng = random.Random(seed)
    kills = 0
    proc = _start(args, env, log, crash=crash)
    assert proc.wait(timeout=90) == 137, f"the crash point {crash} was never reached:\n{log.read_text()[-3000:]}"
    for round_ in range(ROUNDS):
        procs = [_start(args, env, log) for _ in range(2)]
        for proc in procs:
            deadline = time.monotonic() + 60
            while not _registered(database_url, proc) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.8))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        with open(log, "a") as out:
            out.write(f"\n---- round {round_}: killed -9 ----\n")
    return kills


def _finish(args: list[str], env: dict[str, str], log: Path, database_url: str) -> None:
    """Let the dead workers' leases run out (every worker process is dead by now: their rows are
    aged instead of waiting a lease), then let one ``--once`` run finish the queue."""
    execute(database_url, "UPDATE stage_workers SET last_seen = now() - interval '1 day'")
    with open(log, "ab") as out:
        res = subprocess.run([str(PHOTO_FACTORY), *args, "--once"], env=env, stdout=out, stderr=subprocess.STDOUT,
                             timeout=300)
    assert res.returncode == 0, log.read_text()[-4000:]


def _assert_stage_done(database_url: str, flag: str, log: Path) -> None:
    assert tuples(database_url, f"SELECT count(*) FROM media_assets WHERE NOT {flag}") == [(0,)]
    jobs = query(database_url, "SELECT * FROM stage_jobs")
    assert jobs == [], f"stage jobs left (failed or stuck): {jobs}"
    leases = query(database_url, "SELECT * FROM stage_leases")  # the dead workers' leases recovered
    assert leases == [], f"stage leases left: {leases}"
    text = log.read_text()
    assert "claim had been lost" not in text and "claim was lost" not in text, "an item was done twice"


def test_killing_thumbnail_workers_never_fails_repeats_or_half_writes_a_thumbnail(
        library: set[str], pf_env: dict[str, str], database_url: str, storage: dict[str, Path],
        tmp_path: Path) -> None:
    env = {**pf_env, "PF_THUMBNAIL_LEASE_SECONDS": str(LEASE_S), "PF_THUMBNAIL_POLL_SECONDS": "0.5",
           "PF_HEARTBEAT_SECONDS": "1", "PF_THUMBNAIL_SIZES": "256,640"}
    log = tmp_path / "thumbnails.log"
    kills = _kill_rounds(["thumbnails"], env, log, database_url, seed=1410,
                         crash="tempfile:mkstemp|after|3")  # a temporary written, never renamed
    assert kills >= ROUNDS  # the kills landed among running workers
    _finish(["thumbnails"], env, log, database_url)
    _assert_stage_done(database_url, "is_thumbnailed", log)

    derivatives = storage["storage"] / "Derivatives"
    expected = {(thumbnail_rel(p, size)).as_posix() for (p,) in tuples(database_url, "SELECT library_path FROM "
                                                                                    "media_assets")
                for size in (256, 640)}
    found = {p.relative_to(storage["storage"]).as_posix() for p in invariants.files(derivatives)}
    assert found == expected, f"extra: {sorted(found - expected)}; missing: {sorted(expected - found)}"
    for rel in expected:
        with Image.open(storage["storage"] / rel) as img:
            img.load()
            assert max(img.size) == int(rel.split("/")[2]), rel
    invariants.check(database_url, storage["inbox"], storage["storage"], library)


@pytest.mark.parametrize("crash", [
    "processor.backup.batch:back_up|before|1",  # claimed and started, never uploaded
    "photo_factory.stage_store:StageStore._claim|after|1",  # its lease written, never committed
], ids=["before-upload", "mid-claim"])
def test_killing_backup_workers_leaves_every_original_on_the_remote_exactly_once(
        library: set[str], pf_env: dict[str, str], database_url: str, storage: dict[str, Path],
        tmp_path: Path, crash: str) -> None:
    remote = make_crypt_remote(tmp_path)
    env = {**pf_env, **remote.env(), "PF_BACKUP_BATCH_SIZE": "4", "PF_BACKUP_PIPELINE_CHUNKS": "1",
           "PF_BACKUP_IDLE_SECONDS": "0.5", "PF_BACKUP_DUMPS": "false", "PF_HEARTBEAT_SECONDS": "1",
           "PF_BACKUP_RETRY_BASE_SECONDS": "0.5", "PF_BACKUP_LEASE_SECONDS": "3600",
           "PF_BACKUP_RCLONE_FLAGS": "--bwlimit 1M"}  # uploads slow enough to be killed midway
    log = tmp_path / "backup.log"
    kills = _kill_rounds(["backup"], env, log, database_url, seed=1411, crash=crash)
    assert kills >= ROUNDS
    _finish(["backup"], env, log, database_url)
    _assert_stage_done(database_url, "is_backed_up", log)

    stored = [p for p in remote.folder.rglob("*") if p.is_file()]
    assert not [p for p in stored if p.name.endswith(".partial")], "partial uploads left on the remote"
    listing = subprocess.run(["rclone", "lsf", "-R", "--files-only", f"{remote.name}Library"],
                             env={**os.environ, **remote.env()}, capture_output=True, text=True, check=True)
    on_remote = sorted(listing.stdout.split())
    rows = sorted(p.removeprefix("Library/") for (p,) in tuples(database_url, "SELECT library_path FROM media_assets"))
    assert on_remote == rows  # every original once, nothing else
    check = subprocess.run(["rclone", "cryptcheck", str(storage["storage"] / "Library"), f"{remote.name}Library"],
                           env={**os.environ, **remote.env()}, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-2000:]
    invariants.check(database_url, storage["inbox"], storage["storage"], library)


def test_killing_geocode_workers_mid_batch_places_every_photo_once_and_fails_none(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path) -> None:
    """The offline geocoder works in batches (ADR-065): every photo of a batch is started with the
    claim, so a worker killed mid-batch costs each of them an attempt. They come back pending,
    never half-written (a place without its flag), and the next worker places each exactly once."""
    towns = [(46.624, 8.041), (35.0116, 135.7681), (52.5163, 13.3777)]
    provider = offline.OfflineProvider()
    expected = {}
    for i in range(N_PHOTOS):
        lat, lon = towns[i % len(towns)]
        asset_id = add_photo(database_url, storage["storage"], tmp_path, "g" + "x" * i, {"lat": lat, "lon": lon})
        expected[asset_id] = provider.lookup(lat, lon).city
    assert len(set(expected.values())) == len(towns)
    env = {**pf_env, "PF_GEOCODE_BATCH_SIZE": "4", "PF_HEARTBEAT_SECONDS": "1"}
    log = tmp_path / "geocode.log"
    # the batch's lookups done and its places' write built, the worker dies before the commit
    proc = _start(["geocode"], env, log, crash="processor.geocode.store:GeocodeStore.places_writer|after|2")
    assert proc.wait(timeout=120) == 137, log.read_text()[-3000:]
    half = tuples(database_url, "SELECT count(*) FROM media_assets WHERE geocoded_at IS NOT NULL AND NOT is_geocoded")
    assert half == [(0,)]  # a place is written with its flag, or not at all
    started = tuples(database_url, "SELECT count(*) FROM stage_jobs WHERE stage = 'geocode' AND started_at IS NOT NULL")
    assert started[0][0] >= 1  # the crash left started items behind: the recovery has work
    kills = _kill_rounds(["geocode"], env, log, database_url, seed=1412,
                         crash="processor.geocode.service:Geocoder.process_batch|before|2")
    assert kills >= 1
    _finish(["geocode"], env, log, database_url)
    _assert_stage_done(database_url, "is_geocoded", log)
    placed = dict(tuples(database_url, "SELECT id, city FROM media_assets"))
    assert placed == expected
    # the dashboard's rollups counted each photo once, whatever was repeated
    assert tuples(database_url, "SELECT sum(geocoded)::int FROM library_months") == [(N_PHOTOS,)]
    assert tuples(database_url, "SELECT sum(files)::int FROM library_places") == [(N_PHOTOS,)]
