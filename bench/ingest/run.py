"""Ingest speed: ``photo-factory librarian --once`` next to ExifTool's own one-liner, same files, same run.

N camera-like 12 MP JPEGs (``--n``, default 100 and 300: each size is its own measurement) with
DateTimeOriginal over several days are made once and cached under ``var/bench-cache/``
(generation is not timed). Each side gets its own inbox holding copies of the same files (copied
before the clock starts; not hard links, which the librarian rightly copies instead of moving),
storage on the same filesystem, and the page cache is flushed to disk (``sync``) before the clock
starts:

* ours: ``photo-factory librarian --once`` (PF_STABILITY_SECONDS=0.5) against a fresh migrated
  database (``PF_BENCH_DATABASE_URL``, a superuser URL; default: the test suite's private
  cluster) — it waits for the files to settle, reads metadata, hashes, deduplicates, journals,
  moves and records every file;
* baseline: ``exiftool '-Directory<DateTimeOriginal' -d <lib>/%Y/%Y-%m-%d -r <inbox>``;
* fixed cost: the same two commands on an empty inbox (``exiftool -ver`` for the baseline): start-up
  and shut-down; (time - fixed) / N is the per-file cost.

The project's own modules are compiled to bytecode first, as ``pip install`` does in the image
(a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile them on every start).
Prints, per size, files/s for both and the ratio ours/baseline (> 1: ours is faster; target
>= 1), wall and CPU seconds (user+sys of each command and every process it started), and the
load average, since the box may be shared; then one more run of ours phase by phase
(``timeline.py``: interpreter, prelude, imports, settings, heartbeat, database connection and
lock, journal replay, library check, the batch, the end; the filing thread's durable steps
summed; CPU of the librarian and of ExifTool). The same timeline of one run on an empty inbox
comes first: the split of the fixed cost.

``--commit-delay-ms 10`` makes each of our commits wait that much more for its WAL flush
(PostgreSQL's ``commit_delay``, through PGOPTIONS): the durable commits of a slow disk (an SD
card, a busy HDD), where the librarian's waits, not its CPU, set its pace.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from photo_factory import localpg, migrate
from processor.backup.store import create_scratch_database, drop_scratch_database

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "var" / "bench-cache" / "ingest-12mp-v1"
BASES = 6  # distinct encoded images; each file gets its own EXIF and comment, so its own SHA-256


# -- the files -------------------------------------------------------------------------------
def _base_jpegs() -> list[bytes]:
    """A few real 12 MP photo-like JPEGs (sensor-like noise), without EXIF."""
    sys.path.insert(0, str(REPO))
    from tests.support import samples

    out = []
    for seed in range(BASES):
        path = CACHE / f".base-{seed}.jpg"
        if not path.exists():
            samples.image(path, "JPEG", size=(4000, 3000), seed=seed, quality=90)
        out.append(path.read_bytes())
    return out


def _exif_segment(when: str, serial: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R6"  # Make, Model
    ifd = exif.get_ifd(0x8769)  # Exif IFD
    ifd[0x9003] = when  # DateTimeOriginal
    ifd[0x9004] = when  # CreateDate
    ifd[0xA431] = f"{serial:08d}"  # BodySerialNumber... per-file, so every file differs
    payload = exif.tobytes()
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def ensure_files(n: int) -> list[Path]:
    """The cached bench files ``IMG_00000.JPG`` …, made if missing (4–5 MB each)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    paths = [CACHE / f"IMG_{i:05d}.JPG" for i in range(n)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"generating {len(missing)} camera-like 12 MP JPEGs in {CACHE.relative_to(REPO)} …", flush=True)
        bases = _base_jpegs()
        for p in missing:
            i = int(p.stem.split("_")[1])
            day, minute = 1 + i % 9, i % 600  # nine days, one photo a minute
            when = f"2024:06:{day:02d} {8 + minute // 60:02d}:{minute % 60:02d}:00"
            body = bases[i % BASES]
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(body[:2] + _exif_segment(when, i) + body[2:])
            tmp.rename(p)
    return paths


def _link_copy(files: list[Path], dest: Path) -> None:
    """Real copies, not hard links: a file with a second link (``st_nlink > 1``) is copied into
    the library, never linked (so editing the other name cannot change the original). Hard links
    to the cache made this benchmark time the librarian's copy path instead of its move."""
    dest.mkdir(parents=True)
    for f in files:
        shutil.copyfile(f, dest / f.name)


# -- the two sides ----------------------------------------------------------------------------
def _server_url() -> str:
    url = os.environ.get("PF_BENCH_DATABASE_URL")
    if url:
        return url
    return localpg.ensure_cluster(Path(tempfile.gettempdir()) / "photo-factory-test-pg", 54329)


def _fresh_database(server: str, prefix: str = "pf_bench_ingest") -> tuple[str, str]:
    """A new, migrated database on ``server``: (name, url)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_scratch_database(server, name)
    migrate.apply(url)
    return name, url


def _drop_database(server: str, name: str) -> None:
    drop_scratch_database(server, name)


@dataclass
class Timing:
    wall: float
    cpu: float  # user + sys of the command and everything it started (and waited for)


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> Timing:
    subprocess.run(["sync"], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def run_ours(inbox: Path, storage: Path, database_url: str, profile: Path | None) -> Timing:
    inbox.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(inbox),
           "PF_STORAGE_DIR": str(storage), "PF_STABILITY_SECONDS": "0.5", "PF_LOG_LEVEL": "WARNING"}
    exe = Path(sys.executable).with_name("photo-factory")
    cmd = [str(exe), "librarian", "--once"]
    if profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), str(exe), "librarian", "--once"]
    return _timed(cmd, env)


def run_exiftool(inbox: Path, library: Path) -> Timing:
    return _timed(["exiftool", "-q", "-q", "-Directory<DateTimeOriginal", "-d", f"{library}/%Y/%Y-%m-%d",
                   "-r", str(inbox)])


def timeline(files: list[Path], server: str) -> dict:
    """One more run of ours, phase by phase (bench/ingest/timeline.py), on its own inbox and
    database: not part of the ratios."""
    work = Path(tempfile.mkdtemp(prefix="pf-bench-ingest-", dir=CACHE.parent))
    name, url = _fresh_database(server)
    try:
        _link_copy(files, work / "inbox")
        time.sleep(1.0)
        subprocess.run(["sync"], check=True)
        env = {**os.environ, "PF_DATABASE_URL": url, "PF_INBOX_DIR": str(work / "inbox"),
               "PF_STORAGE_DIR": str(work / "storage"), "PF_STABILITY_SECONDS": "0.5", "PF_LOG_LEVEL": "WARNING"}
        out = work / "timeline.json"
        subprocess.run([sys.executable, str(Path(__file__).with_name("timeline.py")), str(out)], env=env,
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        return json.loads(out.read_text())
    finally:
        _drop_database(server, name)
        shutil.rmtree(work, ignore_errors=True)


def _print_timeline(n: int, tl: dict) -> None:
    """Each phase once (its first call): when it started, how long it took, and its CPU."""
    what = f"at {n} files" if n else "on an empty inbox (the fixed cost)"
    print(f"  one run of ours {what}, phase by phase (s since the process started; ms; cpu ms"
          " of the librarian's process):")
    open_: dict[str, tuple[float, float]] = {}
    seen: set[str] = set()
    for wall, cpu, what in tl["marks"]:
        kind, label = what[:2], what[2:]
        if kind == "> ":
            open_.setdefault(label, (wall, cpu))
        elif kind == "< " and label in open_:
            w0, c0 = open_.pop(label)
            if label not in seen:
                seen.add(label)
                print(f"    {w0:6.3f}  {label:28s} {1000 * (wall - w0):7.1f} ms  (cpu {1000 * (cpu - c0):6.1f})")
        else:
            print(f"    {wall:6.3f}  {what}")
    if tl["totals"]:
        spent = ", ".join(f"{k} {v[1] * 1000:.0f} ms/{int(v[0])}" for k, v in tl["totals"].items())
        print(f"    summed (the batch's thread; _file_planned and what it calls: the filing thread): {spent}")
    print(f"    cpu: librarian {tl['cpu_self']:.2f} s, ExifTool {tl['cpu_children']:.2f} s")


def _compile_project() -> None:
    """Bytecode for the project's modules, as ``pip install`` writes it in the image."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                    *(str(REPO / d) for d in ("photo_factory", "librarian"))], check=True,
                   stdout=subprocess.DEVNULL)


def _count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def _one_round(files: list[Path], server: str, profile: Path | None, ours_first: bool) -> dict[str, Timing]:
    work = Path(tempfile.mkdtemp(prefix="pf-bench-ingest-", dir=CACHE.parent))
    name, url = _fresh_database(server)
    try:
        _link_copy(files, work / "ours-inbox")
        _link_copy(files, work / "exiftool-inbox")
        # fixed costs first, on the fresh database: the same commands with nothing to do
        fixed = {"ours_fixed": run_ours(work / "empty-inbox", work / "empty-storage", url, None),
                 "base_fixed": _timed(["exiftool", "-ver"])}
        time.sleep(1.0)  # the files are already sitting in the inbox, as for a real --once run
        runs = [("ours", lambda: run_ours(work / "ours-inbox", work / "ours-storage", url, profile)),
                ("base", lambda: run_exiftool(work / "exiftool-inbox", work / "exiftool-library"))]
        times = dict((label, fn()) for label, fn in (runs if ours_first else runs[::-1]))
        filed = _count(work / "ours-storage" / "Library")
        moved = _count(work / "exiftool-library")
        if filed != len(files) or moved != len(files):
            raise SystemExit(f"incomplete: ours filed {filed}, exiftool moved {moved} of {len(files)}")
        return {**times, **fixed}
    finally:
        _drop_database(server, name)
        shutil.rmtree(work, ignore_errors=True)


def _median(runs: list[dict[str, Timing]], key: str) -> Timing:
    return Timing(statistics.median(r[key].wall for r in runs), statistics.median(r[key].cpu for r in runs))


def _report(n: int, runs: list[dict[str, Timing]], size_mb: float) -> None:
    ours, base = _median(runs, "ours"), _median(runs, "base")
    ours_fixed, base_fixed = _median(runs, "ours_fixed"), _median(runs, "base_fixed")
    print(f"ingest of {n} camera JPEGs ({size_mb:.1f} MB each, {size_mb * n:.0f} MB), "
          f"median of {len(runs)} rounds (wall s / cpu s = user+sys of all its processes):")
    for label, t, fixed, key in (("photo-factory librarian --once", ours, ours_fixed, "ours"),
                                 ("exiftool one-liner (baseline) ", base, base_fixed, "base")):
        per_file = (t.wall - fixed.wall) / n * 1000
        per_file_cpu = (t.cpu - fixed.cpu) / n * 1000
        print(f"  {label} : {t.wall:6.2f} s {n / t.wall:6.1f} files/s  cpu {t.cpu:6.2f} s"
              f"  | fixed {fixed.wall:4.2f} s (cpu {fixed.cpu:4.2f})  per file {per_file:5.2f} ms"
              f" (cpu {per_file_cpu:5.2f})  (runs: {', '.join(f'{r[key].wall:.2f}' for r in runs)})")
    print(f"  ratio ours/baseline at {n} files : {base.wall / ours.wall:5.2f}  (> 1: ours is faster);"
          f" cpu ratio {base.cpu / ours.cpu:4.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_n = [int(x) for x in os.environ.get("PF_BENCH_INGEST_FILES", "100,300").split(",")]
    ap.add_argument("--n", type=int, nargs="+", default=default_n, help="file counts, each measured")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("PF_BENCH_ROUNDS", "3")),
                    help="rounds, alternating which side runs first; medians are reported")
    ap.add_argument("--profile", type=Path, help="write a cProfile of our run to this file")
    ap.add_argument("--commit-delay-ms", type=float, default=0.0,
                    help="PostgreSQL waits this long before each WAL flush of ours (commit_delay): a "
                         "slow disk's durable commits, e.g. 10 for an SD card")
    args = ap.parse_args(argv)
    if args.commit_delay_ms:
        print(f"every commit of ours waits {args.commit_delay_ms:g} ms more for its WAL flush (PGOPTIONS)")
        os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c commit_siblings=0"
                                   f" -c commit_delay={int(args.commit_delay_ms * 1000)}").strip()
    all_files = ensure_files(max(args.n))
    _compile_project()
    server = _server_url()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)")
    _print_timeline(0, timeline([], server))
    for n in args.n:
        files = all_files[:n]
        runs = [_one_round(files, server, args.profile, ours_first=i % 2 == 0) for i in range(args.rounds)]
        _report(n, runs, sum(f.stat().st_size for f in files) / 1e6 / n)
        _print_timeline(n, timeline(files, server))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
