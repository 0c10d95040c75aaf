"""Backup throughput: our ``backup`` worker next to a plain ``rclone copy`` of the same files to the
same kind of remote (a crypt remote over a local folder), in the same run.

Ours = claim + ``rclone copy --files-from-raw`` per batch + verification + flag updates, with the
default ``check`` verification (the original's SHA-256 computed beside the upload, and rclone's own
post-transfer hash check of each file; see ``processor/backup/batch.py``) and with ``sha256`` (every
file read back, decrypted and hashed). Baseline = ``rclone copy`` of the same folder, no
verification of ours. Each case starts from an empty remote; the median of RUNS runs is reported.
Two settings: the local crypt remote as fast as the disk (verification reads every file a second
time, which a plain copy never does, so it shows the full cost of verifying), and the same remote
behind a simulated uplink (``--bwlimit``, both sides alike), where upload time dominates as it does
with a real off-site remote. Target: ratio (ours / baseline throughput) >= 0.9. The CPU column
(this process and rclone, not the database server) shows the cost when the machine is busy and
wall times mostly measure how much CPU each side got.
Two libraries: PF_BENCH_FILES x PF_BENCH_FILE_KB (300 x 256 KB: many small files, where per-file
costs show) and PF_BENCH_BIG_FILES x PF_BENCH_BIG_KB (100 x 3 MB: real 12 MP JPEGs; 0 files skips
it; ``check`` only, unless PF_BENCH_BIG_CASES says otherwise). CPU is split into ours (this process:
hashing, log reading, database client) and rclone's (PostgreSQL's backends for ours, from /proc,
beside them); the load average is printed before and after.
Ours' wall time is split: before rclone had its list (the claim; rclone starts beside it), rclone
from its list to its exit, and after (the last flags). A third line (at PF_BENCH_RCLONE_SPEEDS,
default ``disk``) runs the rclone call ours makes, the same way (its flags, the list on stdin, its
log streamed and parsed), without the claim, hashing or database: baseline -> that line is the
price of the call and its log, that line -> ours the price of the rest.
Environment: PF_BENCH_FILES, PF_BENCH_FILE_KB, PF_BENCH_BIG_FILES, PF_BENCH_BIG_KB, PF_BENCH_RUNS,
PF_BENCH_BWLIMIT (default 20M), PF_BENCH_CASES (default ``check,sha256``), PF_BENCH_BIG_CASES
(default ``check``), PF_BENCH_SPEEDS (default ``disk,uplink``), PF_BENCH_RCLONE_SPEEDS (default
``disk``), PF_BENCH_BATCH (ours' batch, default 500: one batch a library; smaller, several, and
the next batch's rclone starts while one uploads), PF_BENCH_DATABASE_URL (a superuser URL; default:
the test suite's private cluster), PF_BACKUP_RCLONE_DAEMON (``false``: ours calls ``rclone copy``
per batch, as without the daemon).
Ours is a running service's batch: its uploads are jobs of the service's long-lived ``rclone rcd``
(ADR-062), started, and its remote opened (the crypt keys derived), when the service started. That
start-up is timed apart and printed, with the ratio of a service's first batch that would pay it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

N = int(os.environ.get("PF_BENCH_FILES", "300"))
KB = int(os.environ.get("PF_BENCH_FILE_KB", "256"))
BIG_N = int(os.environ.get("PF_BENCH_BIG_FILES", "100"))
BIG_KB = int(os.environ.get("PF_BENCH_BIG_KB", "3072"))
RUNS = int(os.environ.get("PF_BENCH_RUNS", "3"))
BATCH = int(os.environ.get("PF_BENCH_BATCH", "500"))
BWLIMIT = os.environ.get("PF_BENCH_BWLIMIT", "20M")
CASES = [c for c in os.environ.get("PF_BENCH_CASES", "check,sha256").split(",") if c]
BIG_CASES = [c for c in os.environ.get("PF_BENCH_BIG_CASES", "check").split(",") if c]
SPEEDS = [s for s in os.environ.get("PF_BENCH_SPEEDS", "disk,uplink").split(",") if s]
RCLONE_SPEEDS = [s for s in os.environ.get("PF_BENCH_RCLONE_SPEEDS", "disk").split(",") if s]


def server_url() -> str:
    url = os.environ.get("PF_BENCH_DATABASE_URL")
    if url:
        return url
    from photo_factory import localpg

    return localpg.ensure_cluster(Path(tempfile.gettempdir()) / "photo-factory-test-pg", 54329)


def make_library(storage: Path, database_url: str, n_files: int = N, kb: int = KB) -> int:
    """``n_files`` originals of ``kb`` kilobytes each (incompressible), with their rows; return total bytes."""
    import hashlib

    import psycopg2

    total = 0
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        for n in range(n_files):
            data = os.urandom(kb * 1024)
            rel = f"Library/2024/2024-01-{1 + n % 28:02d}/IMG_{n:05d}.JPG"
            (storage / rel).parent.mkdir(parents=True, exist_ok=True)
            (storage / rel).write_bytes(data)
            total += len(data)
            cur.execute(
                "INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,"
                " captured_local, capture_date, date_source, tz_source)"
                " VALUES (%s, %s, %s, %s, 'image', '2024-01-01 12:00', '2024-01-01', 'bench', 'bench')",
                (hashlib.sha256(data).hexdigest(), rel, Path(rel).name, len(data)),
            )
    conn.close()
    return total


def reset(database_url: str, folder: Path) -> None:
    import psycopg2

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("UPDATE media_assets SET is_backed_up = false; DELETE FROM stage_jobs; DELETE FROM backup_runs")
    conn.close()


def clear(database_url: str, storage: Path) -> None:
    import psycopg2

    shutil.rmtree(storage, ignore_errors=True)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM stage_jobs; DELETE FROM media_assets; DELETE FROM backup_runs")
    conn.close()


#: a run: wall s, CPU s of this process, CPU s of rclone; ours also: s before rclone had its
#: list (claim, set-up), s rclone ran from its list to its exit, CPU s of PostgreSQL (-1: unknown)
Times = tuple[float, ...]


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving a database, from /proc (the server must run
    on this machine; otherwise unknown), asked on a connection of its own opened beforehand."""

    def __init__(self, database_url: str):
        import psycopg2

        self.conn = psycopg2.connect(database_url)
        self.conn.autocommit = True
        self.tick = os.sysconf("SC_CLK_TCK")

    def sample(self) -> dict[int, float] | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()")
            pids = [r[0] for r in cur.fetchall()]
        out: dict[int, float] = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None if not out and pids else out
            out[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return out

    def close(self) -> None:
        self.conn.close()


def time_ours(database_url: str, storage: Path, verify: str, flags: str = "") -> Times:
    from photo_factory.settings import CoreSettings
    from processor.backup import rcd, rclone
    from processor.backup.service import BackupWorker
    from processor.backup.settings import BackupSettings

    w = BackupWorker(
        CoreSettings(database_url=database_url, storage_dir=storage),
        BackupSettings(
            backup_remote="secret:",
            backup_verify=verify,  # type: ignore[arg-type]
            backup_dumps=False,
            backup_batch_size=BATCH,
            backup_rclone_flags=flags,
        ),
    )
    # timed until the last round that backed files up has set their flags: the round after it,
    # which finds nothing due, and the close are the loop's end, not backup work (a running
    # service idles there); its CPU is counted all the same
    # A running service: its rclone rcd (ADR-062) was started when the service started, not by
    # this batch; its start-up is timed apart (reported, not in the batch's time).
    warm = 0.0
    daemon = w.backup.daemon
    if daemon is not None:
        t = time.perf_counter()
        assert daemon.ready(), daemon.broken
        warm = time.perf_counter() - t
    group = daemon.group if daemon is not None else None
    calls: list[tuple[float, float]] = []  # each rclone copy (or rcd job): from its list to its end
    streaming, job = rclone.Rclone.run_streaming, rcd.Daemon.copy

    def timed(real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                calls.append((t, time.perf_counter()))
        return call

    rclone.Rclone.run_streaming = timed(streaming)  # type: ignore[method-assign]
    rcd.Daemon.copy = timed(job)  # type: ignore[method-assign]
    server = ServerCpu(database_url)
    try:
        p0 = server.sample()
        t0, c0, g0 = time.perf_counter(), cpu(), group_cpu(group)
        done = t0
        while w.work_once():
            done = time.perf_counter()
        p1 = server.sample()  # before the close ends the worker's backends
        g1 = group_cpu(group)
        w.close()
        c1 = cpu()
    finally:
        rclone.Rclone.run_streaming = streaming  # type: ignore[method-assign]
        rcd.Daemon.copy = job  # type: ignore[method-assign]
        server.close()
    before = calls[0][0] - t0 if calls else 0.0
    pg = -1.0 if p0 is None or p1 is None else sum(c - p0.get(pid, 0.0) for pid, c in p1.items())
    return (done - t0, c1[0] - c0[0], c1[1] - c0[1] + g1 - g0, before, sum(b - a for a, b in calls), pg, warm)


def group_cpu(pgid: int | None) -> float:
    """CPU seconds of the live processes of a process group (the rclone rcd, which has not ended:
    os.times() counts only children that did)."""
    if pgid is None:
        return 0.0
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def time_baseline(storage: Path, flags: str = "") -> Times:
    t0, c0 = time.perf_counter(), cpu()
    subprocess.run(["rclone", "copy", str(storage / "Library"), "secret:Library", *flags.split()], check=True)
    c1 = cpu()
    return time.perf_counter() - t0, c1[0] - c0[0], c1[1] - c0[1]


def time_rclone_as_ours(storage: Path, flags: str = "") -> Times:
    """The rclone call ours makes (same flags, the list on stdin, its log streamed and parsed by
    our reader), without the claim, hashing or database: the gap to the baseline is the price of
    the flags and the log; the rest of ours' gap is ours."""
    from processor.backup import rclone

    paths = sorted(str(p.relative_to(storage)) for p in (storage / "Library").rglob("*") if p.is_file())
    tool = rclone.Rclone(extra_flags=tuple(flags.split()))
    t0, c0 = time.perf_counter(), cpu()
    up = tool.upload(rclone.local_root(storage), "secret:", paths, backup_dir="secret:Attic")
    c1 = cpu()
    assert up.failure is None and len(up.verified) == len(paths), up.failure
    return time.perf_counter() - t0, c1[0] - c0[0], c1[1] - c0[1]


def cpu() -> tuple[float, float]:
    """CPU seconds of this process (ours) and of its finished children (rclone); not the database
    server's."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def report(setting: str, mb: float, results: dict[str, list[Times]]) -> None:
    base = statistics.median(r[0] for r in results["baseline"])
    base_cpu = statistics.median(r[1] + r[2] for r in results["baseline"])
    print(f"[{setting}]")
    label = "plain rclone copy (baseline)"
    print(f"  {label:<37} {base:6.2f} s {mb / base:7.1f} MB/s             cpu {base_cpu:5.2f} s")
    for case, label in (("rclone", "rclone as ours calls it (no proof)"), ("check", "ours, verify=check (default)"),
                        ("sha256", "ours, verify=sha256 (read back)")):
        if not results.get(case):
            continue
        t = statistics.median(r[0] for r in results[case])
        own = statistics.median(r[1] for r in results[case])
        tool = statistics.median(r[2] for r in results[case])
        c = statistics.median(r[1] + r[2] for r in results[case])
        target = "" if case == "rclone" else "; target ratio >= 0.9"
        print(
            f"  {label:<37} {t:6.2f} s {mb / t:7.1f} MB/s  ratio {base / t:.2f}  cpu {c:5.2f} s"
            f" (ours {own:.2f} + rclone {tool:.2f}; cpu ratio {base_cpu / c:.2f}){target}"
        )
        if case != "rclone":
            before = statistics.median(r[3] for r in results[case])
            ran = statistics.median(r[4] for r in results[case])
            pg = statistics.median(r[5] for r in results[case])
            after = max(0.0, t - before - ran)
            warm = statistics.median(r[6] for r in results[case])
            print(f"  {'':<37} of which {before:.2f} s before rclone had its list (the claim), rclone"
                  f" {ran:.2f} s from its list to the end of its copy, {after:.2f} s after;"
                  f" PostgreSQL cpu {'unknown' if pg < 0 else f'{pg:.2f} s'}")
            if warm:
                print(f"  {'':<37} rclone rcd's start-up, once per service (before the batch, not in"
                      f" its time): {warm:.2f} s; a service's first batch with it: {t + warm:.2f} s,"
                      f" ratio {base / (t + warm):.2f}")


def main() -> int:
    from photo_factory import migrate
    from processor.backup.store import create_scratch_database, drop_scratch_database
    from tests.support.backup_samples import make_crypt_remote

    admin = server_url()
    name = f"pf_bench_{uuid.uuid4().hex[:8]}"
    url = create_scratch_database(admin, name)
    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-backup-"))
    started = time.perf_counter()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    try:
        migrate.apply(url)
        storage = tmp / "storage"
        remote = make_crypt_remote(tmp)
        os.environ["RCLONE_CONFIG"] = str(remote.config)
        for n_files, kb, cases in ((N, KB, CASES), (BIG_N, BIG_KB, BIG_CASES)):
            if n_files:
                clear(url, storage)
                total = make_library(storage, url, n_files, kb)
                bench_library(url, storage, remote.folder, n_files, kb, total, cases)
        print("load average after: {:.2f} {:.2f} {:.2f}; {:.0f} s in all".format(
            *os.getloadavg(), time.perf_counter() - started))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        drop_scratch_database(admin, name)


def bench_library(url: str, storage: Path, folder: Path, n_files: int, kb: int, total: int, cases: list[str]) -> None:
    from tests.support.backup_samples import query

    mb = total / 1e6
    size = f"{kb // 1024} MB" if kb % 1024 == 0 else f"{kb} KB"
    print(f"{n_files} files x {size} = {mb:.1f} MB to a crypt remote over a local folder, median of {RUNS}")
    speeds = {"disk": ("disk speed", ""), "uplink": (f"uplink --bwlimit {BWLIMIT}", f"--bwlimit {BWLIMIT}")}
    for speed in SPEEDS:
        setting, flags = speeds[speed]
        extra = ["rclone"] if speed in RCLONE_SPEEDS else []
        results: dict[str, list[Times]] = {"baseline": [], **{c: [] for c in extra + cases}}
        for run in range(RUNS):
            # alternate the order: on a shared box whatever runs first in a round meets other load
            for case in (list(results) if run % 2 == 0 else list(reversed(results))):
                reset(url, folder)
                if case == "baseline":
                    results[case].append(time_baseline(storage, flags))
                elif case == "rclone":
                    results[case].append(time_rclone_as_ours(storage, flags))
                else:
                    results[case].append(time_ours(url, storage, case, flags))
                    assert query(url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(n_files,)]
        report(setting, mb, results)
        print("  load average now: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
