"""Flat costs at a million assets: stage claims, the stitch scan, and the librarian's start-up.

* ``claims``: 1,000,000 assets (and 1,000,000 ingest events, 1,000,000 status-history rows,
  stage jobs: 20,000 failed thumbnails, 5,000 backing-off geocodes) are generated in SQL in a
  fresh database. Then, per stage (thumbnails, geocode, backup), the statements of one worker
  round — ``enqueue_pending`` (its mark past the backlog, as in a running worker) + ``claim`` —
  are timed by the database (EXPLAIN (ANALYZE, TIMING OFF), rolled back), median of 5 (claims:
  9), with the WAL a claim writes; the claim again while another replica's batch is in flight; one item's
  completion after it (its per-item commit must not grow); ``recover_stale``, ``prune_jobs``
  (every 30 s: one window of job rows) and ``queue_depth`` (every heartbeat: counts up to a cap)
  beside. The backup's claim is a lease (one row, migration 0026); its row form (before 0026) is
  measured in the same run for comparison. ``--explain`` prints both plans (BUFFERS, WAL).
  Target: a round's claim <= 5 ms.
* ``stitch``: the stitch scan's read of unscanned images with all 1,000,000 unscanned: rows and
  time of one round (bounded: ``PF_STITCH_SCAN_BATCH``).
* ``startup``: ``photo-factory librarian --once`` on an empty inbox and a library of ``--files``
  files on disk (empty files, 1,000 per day folder) with one row each: wall time (journal replay
  + library check + process start) and peak RSS. Target <= 60 s at 1,000,000 files; a smaller
  ``--files`` is extrapolated linearly (and says so).

* ``rss`` (only when named): one long-running librarian ingests ``--ingest-files`` tiny real
  JPEGs (default 20,000) dropped ``--every`` (2,000) at a time; its RSS after each drop and the
  growth per 10,000 files. Target: flat.

``python -m bench scale [--files N] [--only claims stitch startup rss] [--explain]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.sql

from bench.pipeline.run import CACHE, drop_database, fresh_database, server_url
from photo_factory import db
from photo_factory.stage_store import COUNT_CAP, PRUNE_BATCH, StageStore, compose
from photo_factory.worker import Stage

ASSETS = 1_000_000

GENERATE = """
INSERT INTO media_assets (sha256, library_path, original_name, source_path, size_bytes, media_type,
                          mime_type, file_type, captured_at, captured_local, capture_date, utc_offset_min,
                          date_source, tz_source, camera_make, camera_model, width, height, orientation,
                          location, is_thumbnailed, is_geocoded, is_backed_up, stitch_scanned, ingested_at)
SELECT lpad(to_hex(i), 64, '0'),
       format('Library/%%s/%%s/IMG_%%s.JPG', to_char(d, 'YYYY'), to_char(d, 'YYYY-MM-DD'), lpad(i::text, 7, '0')),
       format('IMG_%%s.JPG', lpad(i::text, 7, '0')), format('DCIM/IMG_%%s.JPG', i),
       4000000 + i, CASE WHEN i %% 20 = 0 THEN 'video' ELSE 'image' END, 'image/jpeg', 'JPEG',
       t, t, d, 60, 'EXIF:DateTimeOriginal', 'EXIF:OffsetTimeOriginal', 'Canon', 'EOS R6', 4000, 3000, 1,
       CASE WHEN i %% 3 = 0 THEN jsonb_build_object('lat', 48.85, 'lon', 2.29) END,
       i <= %(n)s - 22000, i %% 3 <> 0 OR i <= %(n)s - 6000, i <= %(n)s - 5000, %(scanned)s,
       now() - make_interval(secs => (%(n)s - i) * 30)
  FROM generate_series(1, %(n)s) AS i,
       LATERAL (SELECT timestamp '2015-01-01' + make_interval(secs => i * 300) AS t) AS tt,
       LATERAL (SELECT t::date AS d) AS dd;
INSERT INTO stage_jobs (asset_id, stage, state, attempts, reason_code, last_error, updated_at)
SELECT i, 'thumbnails', 'failed', 3, 'corrupt_file', 'cannot decode', now()
  FROM generate_series(GREATEST(1, %(n)s - 21999), %(n)s - 2000) AS i;
INSERT INTO stage_jobs (asset_id, stage, state, attempts, not_before, reason_code)
SELECT i, 'geocode', 'pending', 1, now() + interval '1 hour', 'service_unavailable'
  FROM generate_series(GREATEST(1, %(n)s - 5999), %(n)s) AS i WHERE i %% 3 = 0;
INSERT INTO ingest_events (kind, asset_id, source_path, occurred_at)
SELECT 'ingested', i, format('DCIM/IMG_%%s.JPG', i), now() - make_interval(secs => (%(n)s - i) * 30)
  FROM generate_series(1, %(n)s) AS i;
INSERT INTO system_status_history (service, status, message, recorded_at)
SELECT (ARRAY['librarian', 'thumbnails', 'geocode', 'backup'])[1 + i %% 4], 'ok', 'fine',
       now() - make_interval(secs => i * 15)
  FROM generate_series(1, %(n)s) AS i;
"""

STAGES = {
    "thumbnails": Stage(name="thumbnails", flag="is_thumbnailed", batch_size=4),
    "geocode": Stage(name="geocode", flag="is_geocoded", where="a.location IS NOT NULL", batch_size=50),
}


def _backup_stage() -> Stage:
    """The backup's own stage definition (its columns, its batch size from its settings)."""
    from processor.backup.service import stage
    from processor.backup.settings import BackupSettings

    return stage(BackupSettings())


def generate(url: str, n: int, scanned: bool = True) -> float:
    t = time.perf_counter()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(GENERATE, {"n": n, "scanned": scanned})
        cur.execute("VACUUM ANALYZE")
        try:  # the generated gigabyte is flushed now, not by a checkpoint during the measurements
            cur.execute("CHECKPOINT")
        except psycopg2.Error as exc:  # a server of PF_BENCH_DATABASE_URL may not let us
            print(f"  (no CHECKPOINT after generating: {str(exc).strip()})", flush=True)
    conn.close()
    return time.perf_counter() - t


def _db_ms(url: str, query: object, params: dict, rounds: int = 5, *, vacuum: bool = False,
           before: tuple[object, ...] = (), first: object = None, take: int | None = None,
           setup: str | None = None) -> tuple[float, float, float]:
    """Median server-side execution time of ``query`` (EXPLAIN (ANALYZE, TIMING OFF), each run
    rolled back): the database's own time, which a client's clock on a saturated box cannot show
    at this scale (per-node timing is off: its clock reads, per row and node, are not a worker's
    cost); and the medians of the WAL records and bytes it wrote (what a row update costs,
    whatever the box's load).
    ``vacuum``: VACUUM stage_jobs before each run. A rolled-back claim leaves a dead version of
    every row it updated (and its index entries); without it the next run re-claims the same rows
    through them and each run costs more than the last, which no worker ever sees (it claims each
    row once; autovacuum runs between). ``before``: statements run first in the same transaction
    (not timed: a leased claim's lock). ``first``: a claim run (not timed) in the same transaction
    before ``query``, whose first ``take`` asset ids (all: None) ``query`` gets as ``ids`` (to time
    the start or the completion of claimed items). ``setup``: SQL run first, not timed (another
    replica's batch in flight)."""
    conn = psycopg2.connect(url)
    clean = psycopg2.connect(url) if vacuum else None
    if clean is not None:
        clean.autocommit = True
    times, records, nbytes = [], [], []
    try:
        for _ in range(rounds + 1):
            if clean is not None:
                with clean.cursor() as cur:
                    cur.execute("VACUUM stage_jobs, stage_leases")
            with conn.cursor() as cur:
                if setup:
                    cur.execute(setup)
                for statement in before:
                    cur.execute(statement, params)  # type: ignore[arg-type]
                if first is not None:
                    cur.execute(first, params)  # type: ignore[arg-type]
                    params = {**params, "ids": [r[0] for r in cur.fetchall()][:take]}
                cur.execute(psycopg2.sql.SQL("EXPLAIN (ANALYZE, WAL, TIMING OFF, FORMAT JSON) ") + query,  # type: ignore[operator]
                            params)
                plan = cur.fetchone()[0]
            conn.rollback()
            times.append(float(plan[0]["Execution Time"]))
            wal = _wal(plan[0]["Plan"])
            records.append(wal[0])
            nbytes.append(wal[1])
    finally:
        conn.close()
        if clean is not None:
            clean.close()
    return statistics.median(times[1:]), statistics.median(records[1:]), statistics.median(nbytes[1:])


def _wal(plan: dict) -> tuple[float, float]:
    """WAL records and bytes of a plan: its top node's, plus each data-modifying CTE's that no
    node reads (PostgreSQL runs those after the plan, outside the top node's counts: a lease's
    INSERT)."""
    nodes, read, stack = [], set(), [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if node.get("Node Type") == "CTE Scan":
            read.add(node.get("CTE Name"))
        stack.extend(node.get("Plans", []))
    records, nbytes = float(plan.get("WAL Records", 0)), float(plan.get("WAL Bytes", 0))
    for node in nodes:
        name = node.get("Subplan Name", "")
        if name.startswith("CTE ") and name[4:] not in read:
            records += float(node.get("WAL Records", 0))
            nbytes += float(node.get("WAL Bytes", 0))
    return records, nbytes


def _explain(url: str, query: object, params: dict, before: tuple[object, ...] = ()) -> str:
    """EXPLAIN (ANALYZE, BUFFERS, WAL) of ``query`` (rolled back): where a claim's time goes."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            for statement in before:
                cur.execute(statement, params)  # type: ignore[arg-type]
            cur.execute(psycopg2.sql.SQL("EXPLAIN (ANALYZE, BUFFERS, WAL) ") + query, params)  # type: ignore[operator]
            out = "\n".join(r[0] for r in cur.fetchall())
        conn.rollback()
    finally:
        conn.close()
    return out


def _in_flight(name: str, n: int, leased: bool) -> str:
    """SQL that puts another replica's batch of ``n`` in flight (the queue's first due items),
    as that stage claims: a lease naming them, or the rows claimed."""
    pick = (f"SELECT asset_id FROM stage_jobs WHERE stage = '{name}' AND state = 'pending' "
            f"AND not_before <= now() ORDER BY not_before, asset_id LIMIT {n}")
    if leased:
        return (f"INSERT INTO stage_leases (stage, worker_id, items) "
                f"SELECT '{name}', 'other', array_agg(asset_id) FROM ({pick}) p")
    return (f"UPDATE stage_jobs SET state = 'claimed', claimed_by = 'other', claimed_at = now() "
            f"WHERE stage = '{name}' AND asset_id IN ({pick})")


def claims(url: str, explain: bool = False) -> bool:
    ok = True
    print("database time per statement (EXPLAIN (ANALYZE, TIMING OFF), median of 5 (claims: 9), rolled back), ms,")
    print("and the claim's WAL (records/bytes a claim, records an item). A batch stage (backup) is leased: its claim")
    print("writes one lease row (migration 0026); 'rows' is the same claim as before 0026 (each job row")
    print("rewritten: a row version + three index entries), measured in the same run. 'busy': the claim")
    print("while another replica's batch is in flight. 'complete': one item's completion after the claim")
    print("(its per-item commit, ADR-051), with its WAL records. A batch stage's start is part of its claim.")
    print(f"{'stage':16} {'batch':>5} {'enqueue':>7} {'claim':>6} {'busy':>6} {'start':>6} {'WAL rec':>7} "
          f"{'WAL B':>7} {'rec/it':>6} {'complete':>8} {'c.WAL':>5} {'recover':>7} {'prune':>6} {'depth':>6}",
          flush=True)
    backup = _backup_stage()
    runs = [(n, s, False) for n, s in STAGES.items()] + [("backup", backup, True), ("backup", backup, False)]
    for name, stage, leased in runs:
        store = StageStore(db.Database(url, f"bench-{name}"), stage, f"bench-{name}")
        store.touch_worker()
        limit = max(100, stage.batch_size * 10)
        for _ in range(10_000):  # a running worker's mark is past the backlog: walk it once
            before = store._enqueued_after
            store.enqueue_pending(limit)
            if store._enqueued_after == before:
                break
        vacuum = psycopg2.connect(url)
        vacuum.autocommit = True
        with vacuum.cursor() as cur:  # what autovacuum does between a worker's rounds
            cur.execute("VACUUM ANALYZE stage_jobs")
        vacuum.close()
        q = compose(stage)
        base = {"stage": name, "worker": f"bench-{name}", "lease": 60.0, "start": stage.start_on_claim,
                "limit": stage.batch_size}
        claim_q, complete_q = (q["claim_lease"], q["complete_lease"]) if leased else (q["claim"], q["complete"])
        lock = (q["lock_leases"],) if leased else ()
        enq, _, _ = _db_ms(url, q["enqueue_pending"], {**base, "limit": limit, "after": store._enqueued_after})
        claim, wal, wal_b = _db_ms(url, claim_q, base, 9, vacuum=True, before=lock)
        busy, _, _ = _db_ms(url, claim_q, base, 9, vacuum=True, before=lock,
                            setup=_in_flight(name, stage.batch_size, leased))
        start, wal_start, _ = (0.0, 0.0, 0.0) if stage.start_on_claim else _db_ms(
            url, q["start"], base, vacuum=True, first=q["claim"])
        complete, wal_c, _ = _db_ms(url, complete_q, base, vacuum=True, before=lock, first=claim_q, take=1)
        recover, _, _ = _db_ms(url, q["recover_leases" if leased else "recover_stale"],
                               {**base, "max_attempts": 5, "claim_timeout": 3600.0})
        prune, _, _ = _db_ms(url, q["prune_jobs"], {**base, "after": 0, "limit": PRUNE_BATCH})
        depth, _, _ = _db_ms(url, q["queue_depth"], {**base, "cap": COUNT_CAP})
        label = name if name != "backup" else f"backup ({'lease' if leased else 'rows'})"
        if leased or name != "backup":  # the rows form is the before-0026 reference
            ok &= claim <= 5.0
        records = wal + wal_start
        print(f"{label:16} {stage.batch_size:5} {enq:7.2f} {claim:6.2f} {busy:6.2f} {start:6.2f} {records:7.0f} "
              f"{wal_b:7.0f} {records / stage.batch_size:6.1f} {complete:8.2f} {wal_c:5.0f} {recover:7.2f} "
              f"{prune:6.2f} {depth:6.2f}", flush=True)
        if explain and name == "backup":
            print(_explain(url, claim_q, base, lock), flush=True)
        store.db.close()
    print("target (a claim <= 5 ms):", "met" if ok else "NOT met")
    return ok


def stitch(url: str) -> None:
    from processor.stitch.store import StitchStore

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("UPDATE media_assets SET stitch_scanned = false")
        cur.execute("VACUUM ANALYZE media_assets")
    conn.close()
    store = StitchStore(url)
    seen: list[int] = []

    def detect(shots):  # type: ignore[no-untyped-def]
        from processor.stitch.panorama import Detection

        seen.append(len(shots))
        return Detection([], [])

    from processor.stitch.service import StitchSettings

    batch = int(StitchSettings.model_fields["stitch_scan_batch"].default)
    peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    store.scan(detect, 0.0, limit=batch, max_gap_s=10.0)
    ms = (time.perf_counter() - t) * 1000
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak0) / 1024
    print(f"stitch scan with {ASSETS:,} unscanned images: one round (PF_STITCH_SCAN_BATCH={batch}) read "
          f"{seen[0]:,} rows in {ms:.0f} ms (this process's peak RSS grew {grew:.0f} MB)", flush=True)
    store.close()


def make_library(root: Path, n: int) -> float:
    """``n`` empty files in ``root/Library/YYYY/YYYY-MM-DD/`` named like the generated rows."""
    import datetime as dt

    t = time.perf_counter()
    start = dt.datetime(2015, 1, 1)
    folder = None
    for i in range(1, n + 1):
        d = (start + dt.timedelta(seconds=i * 300)).date()
        f = root / "Library" / f"{d:%Y}" / f"{d:%Y-%m-%d}"
        if f != folder:
            f.mkdir(parents=True, exist_ok=True)
            folder = f
        os.close(os.open(f / f"IMG_{i:07d}.JPG", os.O_CREAT | os.O_WRONLY, 0o644))
    return time.perf_counter() - t


def startup(server: str, n: int, keep: bool = False, reuse: str | None = None) -> bool:
    """The librarian's start-up on a library of ``n`` files (``reuse``: ``DATABASE=FOLDER`` kept by
    ``--keep``, not regenerated): wall and CPU seconds (user + system of the librarian process),
    peak RSS, and the box's load beside them."""
    if reuse:
        name, folder = reuse.split("=", 1)
        url = urlunsplit(urlsplit(server)._replace(path="/" + name))
        work = Path(folder)
    else:
        name, url = fresh_database(server, "pf_bench_startup")
        work = Path(tempfile.mkdtemp(prefix="pf-bench-scale-", dir=CACHE.parent))
    try:
        if not reuse:
            gen = generate(url, n)
            made = make_library(work / "storage", n)
            (work / "inbox").mkdir()
            print(f"library of {n:,} files: rows generated in {gen:.0f} s, files made in {made:.0f} s", flush=True)
        env = {**os.environ, "PF_DATABASE_URL": url, "PF_INBOX_DIR": str(work / "inbox"),
               "PF_STORAGE_DIR": str(work / "storage"), "PF_LOG_LEVEL": "INFO", "PF_STABILITY_SECONDS": "0"}
        exe = str(Path(sys.executable).with_name("photo-factory"))
        subprocess.run(["sync"], check=True)
        cmd = [exe, "librarian", "--once"]
        if os.environ.get("PF_BENCH_PROFILE"):  # a cProfile of the start-up, written there
            cmd = [sys.executable, "-m", "cProfile", "-o", os.environ["PF_BENCH_PROFILE"], *cmd]
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = used.ru_utime - before.ru_utime + used.ru_stime - before.ru_stime
        peak = used.ru_maxrss / 1024
        check = [ln for ln in out.stderr.splitlines() + out.stdout.splitlines() if "library check" in ln]
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
        at_1m = wall * ASSETS / n
        print(f"librarian start-up (journal replay + library check + process start) on {n:,} files: "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU (user+sys), peak RSS {peak:.0f} MB, load {load:.1f} at start; "
              f"{check[-1].split('library check: ')[-1] if check else '?'}")
        note = "" if n >= ASSETS else f" (extrapolated linearly from {n:,})"
        print(f"  at 1,000,000 files: {at_1m:.0f} s{note} (target <= 60 s: {'met' if at_1m <= 60 else 'NOT met'})",
              flush=True)
        return at_1m <= 60
    finally:
        if keep or reuse:
            print(f"  kept: --reuse-startup {name}={work}", flush=True)
        else:
            drop_database(server, name)
            shutil.rmtree(work, ignore_errors=True)


def tiny_jpegs(folder: Path, first: int, n: int) -> Path:
    """``n`` small real JPEGs (16x16, EXIF camera and capture time, unique content), numbered from
    ``first``, 144 to a day: what a phone's folder looks like to the librarian, minus the size."""
    import io

    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(first, first + n):
        im = Image.new("RGB", (16, 16), (i % 251, (i // 251) % 251, (i // 63001) % 251))
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "PF", "Bench"
        when = time.gmtime(1_577_836_800 + i * 600)
        exif.get_ifd(0x8769)[0x9003] = time.strftime("%Y:%m:%d %H:%M:%S", when)
        buf = io.BytesIO()
        im.save(buf, "JPEG", exif=exif, quality=90)
        (folder / f"IMG_{i:07d}.JPG").write_bytes(buf.getvalue())
    return folder


def _vm_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for {pid}")


def rss(server: str, n: int, every: int) -> float:
    """One long-running librarian ingests ``n`` tiny JPEGs dropped ``every`` at a time; its own
    resident set (VmRSS of the main process, ExifTool not included) is read after each drop has
    been filed. The slope (least squares over the samples after the first drop, which warms the
    caches) in MB per 10,000 files is the growth; flat is < 1 MB per 10,000."""
    from bench import procstat
    from bench.pipeline.run import Pipeline

    load = os.getloadavg()[0]
    with Pipeline(server, 0, geocode=False, extra_env={"PF_STABILITY_SECONDS": "0.2"}) as p:
        pid = p.procs["librarian"].pid
        samples: list[tuple[int, float]] = [(0, _vm_rss_mb(pid))]
        print(f"librarian RSS over {n:,} ingested tiny JPEGs ({every:,} a drop), load {load:.1f} at start:")
        print(f"  {'files':>8} {'RSS MB':>7} {'drop s':>7} {'CPU s':>6}")
        print(f"  {0:8,} {samples[0][1]:7.1f}", flush=True)
        with procstat.Sampler({"librarian": pid}, interval=1.0) as sampler:
            sampler.mark()
            for first in range(0, n, every):
                staged = tiny_jpegs(p.inbox.parent / f"staging-{first}", first, min(every, n - first))
                done = first + min(every, n - first)
                cpu0 = sampler.cpu_since_mark()["librarian"]
                t = time.perf_counter()
                p.arrive(staged, f"drop-{first}")
                if not procstat.wait_until(lambda done=done: p.scalar("SELECT count(*) FROM media_assets") >= done,
                                           1800, 0.5):
                    p._dump_logs()
                    raise SystemExit(f"the librarian did not file {done:,} files")
                wall = time.perf_counter() - t
                cpu = sampler.cpu_since_mark()["librarian"] - cpu0
                samples.append((done, _vm_rss_mb(pid)))
                print(f"  {done:8,} {samples[-1][1]:7.1f} {wall:7.1f} {cpu:6.1f}", flush=True)
            total_cpu = sampler.cpu_since_mark()["librarian"]
    tail = samples[1:]
    if len(tail) >= 2:
        xs, ys = [x for x, _ in tail], [y for _, y in tail]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in tail) / sum((x - mx) ** 2 for x in xs) * 10_000
    else:
        slope = float("nan")
    print(f"  growth after the first drop: {slope:+.2f} MB per 10,000 files (flat: < 1); librarian CPU "
          f"(with ExifTool) {total_cpu:.0f} s, {total_cpu / n * 1000:.1f} ms a file", flush=True)
    return slope


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=int(os.environ.get("PF_BENCH_SCALE_FILES", "200000")),
                    help="library files on disk for the start-up measurement")
    ap.add_argument("--only", nargs="+", choices=["claims", "stitch", "startup", "rss"],
                    default=["claims", "stitch", "startup"], help="rss runs only when named")
    ap.add_argument("--ingest-files", type=int, default=20_000, help="tiny JPEGs ingested by the rss measurement")
    ap.add_argument("--every", type=int, default=2_000, help="the rss measurement's drop size (RSS read after each)")
    ap.add_argument("--explain", action="store_true",
                    help="print EXPLAIN (ANALYZE, BUFFERS, WAL) of the backup's claims (lease and rows)")
    ap.add_argument("--keep", action="store_true", help="keep the generated database (its name is printed)")
    ap.add_argument("--reuse", metavar="NAME", help="measure on a database kept by --keep (not regenerated)")
    ap.add_argument("--reuse-startup", metavar="DATABASE=FOLDER",
                    help="the start-up's database and library kept by --keep (not regenerated)")
    args = ap.parse_args(argv)
    server = server_url()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    if {"claims", "stitch"} & set(args.only):
        if args.reuse:
            name, url = args.reuse, urlunsplit(urlsplit(server)._replace(path="/" + args.reuse))
        else:
            name, url = fresh_database(server, "pf_bench_scale")
        try:
            if not args.reuse:
                print(f"generating {ASSETS:,} assets, events, history rows and stage jobs in SQL …", flush=True)
                print(f"  generated in {generate(url, ASSETS):.0f} s (database {name})", flush=True)
            if "claims" in args.only:
                claims(url, args.explain)
            if "stitch" in args.only:
                stitch(url)
        finally:
            if not (args.keep or args.reuse):
                drop_database(server, name)
    if "startup" in args.only:
        startup(server, args.files, args.keep, args.reuse_startup)
    if "rss" in args.only:
        rss(server, args.ingest_files, args.every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
