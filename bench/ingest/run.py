"""Ingest speed: ``photo-factory librarian --once`` next to ExifTool's own one-liner, same files, same run.

N camera-like 12 MP JPEGs (default 500; ``--n``) with DateTimeOriginal over several days are made
once and cached under ``var/bench-cache/`` (generation is not timed). Each side gets its own inbox
holding copies of the same files (copied before the clock starts; not hard links, which the
librarian rightly copies instead of moving), storage on the same filesystem, and the page cache is
flushed to disk (``sync``) before the clock starts:

* ours: ``photo-factory librarian --once`` (PF_STABILITY_SECONDS=0.5) against a fresh migrated
  database (``PF_BENCH_DATABASE_URL``, a superuser URL; default: the test suite's private
  cluster) — it waits for the files to settle, reads metadata, hashes, deduplicates, journals,
  moves and records every file;
* baseline: ``exiftool '-Directory<DateTimeOriginal' -d <lib>/%Y/%Y-%m-%d -r <inbox>``.

Prints files/s for both and the ratio ours/baseline (> 1: ours is faster). Target: >= 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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


def run_ours(inbox: Path, storage: Path, database_url: str, profile: Path | None) -> float:
    env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(inbox),
           "PF_STORAGE_DIR": str(storage), "PF_STABILITY_SECONDS": "0.5", "PF_LOG_LEVEL": "WARNING"}
    exe = Path(sys.executable).with_name("photo-factory")
    cmd = [str(exe), "librarian", "--once"]
    if profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), str(exe), "librarian", "--once"]
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    return time.perf_counter() - start


def run_exiftool(inbox: Path, library: Path) -> float:
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run(["exiftool", "-q", "-q", "-Directory<DateTimeOriginal", "-d", f"{library}/%Y/%Y-%m-%d",
                    "-r", str(inbox)], check=True)
    return time.perf_counter() - start


def _count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def _one_round(files: list[Path], server: str, profile: Path | None, ours_first: bool) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="pf-bench-ingest-", dir=CACHE.parent))
    name, url = _fresh_database(server)
    try:
        _link_copy(files, work / "ours-inbox")
        _link_copy(files, work / "exiftool-inbox")
        time.sleep(1.0)  # the files are already sitting in the inbox, as for a real --once run
        runs = [("ours", lambda: run_ours(work / "ours-inbox", work / "ours-storage", url, profile)),
                ("base", lambda: run_exiftool(work / "exiftool-inbox", work / "exiftool-library"))]
        times = dict((label, fn()) for label, fn in (runs if ours_first else runs[::-1]))
        filed = _count(work / "ours-storage" / "Library")
        moved = _count(work / "exiftool-library")
        if filed != len(files) or moved != len(files):
            raise SystemExit(f"incomplete: ours filed {filed}, exiftool moved {moved} of {len(files)}")
        return times["ours"], times["base"]
    finally:
        _drop_database(server, name)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("PF_BENCH_INGEST_FILES", "500")))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("PF_BENCH_ROUNDS", "3")),
                    help="rounds, alternating which side runs first; medians are reported")
    ap.add_argument("--profile", type=Path, help="write a cProfile of our run to this file")
    args = ap.parse_args(argv)
    files = ensure_files(args.n)
    server = _server_url()
    ours, base = [], []
    for i in range(args.rounds):
        o, b = _one_round(files, server, args.profile, ours_first=i % 2 == 0)
        ours.append(o)
        base.append(b)
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    ours_rate, base_rate = args.n / ours_s, args.n / base_s
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"ingest of {args.n} camera JPEGs ({size_mb / args.n:.1f} MB each, {size_mb:.0f} MB), "
          f"median of {args.rounds} rounds:")
    print(f"  photo-factory librarian --once : {ours_s:7.2f} s  {ours_rate:7.1f} files/s"
          f"  (runs: {', '.join(f'{t:.2f}' for t in ours)})")
    print(f"  exiftool one-liner (baseline)  : {base_s:7.2f} s  {base_rate:7.1f} files/s"
          f"  (runs: {', '.join(f'{t:.2f}' for t in base)})")
    print(f"  ratio ours/baseline            : {ours_rate / base_rate:7.2f}  (> 1: ours is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
