"""The whole pipeline, end to end: files/min through librarian + thumbnails (+ geocode), next to the
ceiling computed in the same run, and the latency of one photo from drop to thumbnailed.

The services run as real processes (``photo-factory librarian``, ``thumbnails`` × replicas,
``geocode`` with the offline provider) on a fresh migrated database and a fresh storage:

* throughput: N camera-like 12 MP JPEGs (half with GPS; ``--mix`` adds 12 MP HEICs and two
  short 4K videos) are copied next to the inbox, then renamed into it at once (as Syncthing
  does); the clock runs until every asset is thumbnailed (and geocoded where it has GPS). Each
  service's process tree is sampled from ``/proc`` meanwhile: its CPU seconds over the run,
  divided by N, is the per-file CPU of the librarian, the thumbnail path and the geocoder; the
  ceiling is ``cores / per-file CPU``. As the box is shared, the CPU the rest of the machine
  took in the same window is measured too (``/proc/stat``), and the ceiling on the CPU left to
  us is printed beside the 2-core one.
* latency: then ``--latency`` single photos, one at a time: drop → ``is_thumbnailed``; p50/p95
  against the quiet period (PF_STABILITY_SECONDS, 1 s here) + 0.5 s.

``--replicas 1 2 4`` repeats the throughput phase with 1, 2 and 4 thumbnail workers.
Targets: ratio >= 0.95 of the ceiling; p95 <= quiet period + 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from bench import procstat
from bench.ingest import run as ingest_bench
from photo_factory import localpg

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "var" / "bench-cache" / "pipeline-v1"
QUIET_S = 1.0
#: Places the offline geocoder knows (Paris, Berlin, Grindelwald, Kyoto).
PLACES = ((48.8584, 2.2945), (52.5163, 13.3777), (46.6242, 8.0414), (35.0116, 135.7681))


# -- the files -------------------------------------------------------------------------------
def _gps_segment(when: str, serial: int, gps: tuple[float, float] | None) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R6"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = ifd[0x9004] = when
    ifd[0xA431] = f"{serial:08d}"
    if gps:
        g = exif.get_ifd(0x8825)

        def dms(v: float) -> tuple[float, float, float]:
            v = abs(v)
            d, m = int(v), int((v % 1) * 60)
            return (float(d), float(m), round(((v * 60) % 1) * 60, 4))

        g[1], g[2], g[3], g[4] = ("N" if gps[0] >= 0 else "S"), dms(gps[0]), ("E" if gps[1] >= 0 else "W"), dms(gps[1])
    payload = exif.tobytes()
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def jpegs(n: int) -> list[Path]:
    """``n`` cached camera-like 12 MP JPEGs, every other one with GPS (made once, not timed)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    paths = [CACHE / f"IMG_{i:05d}.JPG" for i in range(n)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"generating {len(missing)} 12 MP JPEGs in {CACHE.relative_to(REPO)} …", flush=True)
        bases = ingest_bench._base_jpegs()
        for p in missing:
            i = int(p.stem.split("_")[1])
            when = f"2024:07:{1 + i % 9:02d} {8 + (i % 600) // 60:02d}:{i % 60:02d}:00"
            body = bases[i % len(bases)]
            gps = PLACES[i % len(PLACES)] if i % 2 == 0 else None
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(body[:2] + _gps_segment(when, i, gps) + body[2:])
            tmp.rename(p)
    return paths


def _base_heic() -> Path:
    """ONE 12 MP HEIC (the JPEG bench's first camera-like base, re-encoded by x265; ~1 min, once)."""
    path = CACHE / ".base-12mp.HEIC"
    if not path.exists():
        import pillow_heif
        from PIL import Image

        print("encoding one 12 MP HEIC (once) …", flush=True)
        pillow_heif.register_heif_opener()
        ingest_bench._base_jpegs()
        with Image.open(ingest_bench.CACHE / ".base-0.jpg") as im:
            tmp = path.with_name(".tmp-base.HEIC")
            im.convert("RGB").save(tmp, "HEIF", quality=60)
        tmp.rename(path)
    return path


def _base_video() -> Path:
    """ONE 3 s 4K H.264 video (testsrc), once."""
    path = CACHE / ".base-4k.MP4"
    if not path.exists():
        sys.path.insert(0, str(REPO))
        from tests.support import samples

        tmp = path.with_name(".tmp-base.MP4")
        samples.video(tmp, "2024-08-02T10:00:00Z", seconds=3.0, size="3840x2160")
        tmp.rename(path)
    return path


def mix(n_heic: int, n_video: int) -> list[Path]:
    """``n_heic`` 12 MP HEICs and ``n_video`` 3 s 4K videos, cached: each a copy of one base with
    its own tags (ExifTool rewrites a HEIC's EXIF and ffmpeg remuxes a video with ``-c copy``), so
    every file has its own SHA-256 without a new encode."""
    heics = [CACHE / f"HEIC_{i:04d}.HEIC" for i in range(n_heic)]
    videos = [CACHE / f"VID_{i:04d}.MP4" for i in range(n_video)]
    todo = [(i, p) for i, p in enumerate(heics) if not p.exists()]
    if todo:
        base = _base_heic()
        args = []
        for i, p in todo:  # one ExifTool process for every copy (-execute between them)
            args += [f"-DateTimeOriginal=2024:08:01 10:{i % 60:02d}:{i // 60 % 60:02d}", f"-SerialNumber={i:08d}",
                     "-Make=Apple", "-Model=iPhone 12", "-o", str(CACHE / f".tmp-{p.name}"), str(base), "-execute"]
        subprocess.run(["exiftool", "-@", "-", "-common_args", "-q", "-q", "-m"], input="\n".join(args) + "\n",
                       text=True, check=True)
        for _, p in todo:
            (CACHE / f".tmp-{p.name}").rename(p)
    for i, p in enumerate(videos):
        if not p.exists():
            tmp = CACHE / f".tmp-{p.name}"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", f"file:{_base_video()}", "-c", "copy",
                            "-metadata", f"creation_time=2024-08-02T10:{i % 60:02d}:00Z",
                            "-metadata", f"comment=pf-bench {i}", f"file:{tmp}"], check=True)
            tmp.rename(p)
    return heics + videos


def kind(path: Path) -> str:
    return {".JPG": "12 MP JPEG", ".HEIC": "12 MP HEIC", ".MP4": "4K video"}.get(path.suffix.upper(), path.suffix)


def thumbnail_cpu_by_kind(files: list[Path], per_kind: int = 2) -> dict[str, float]:
    """CPU seconds (this process + its ffmpeg children) of the thumbnail path for one file of
    each kind, measured here on ``per_kind`` files each, outside the timed run."""
    import resource

    from processor.thumbnails import render
    from processor.thumbnails.settings import ThumbnailSettings
    from processor.thumbnails.thumbnails import Thumbnailer

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    cfg = ThumbnailSettings()
    out: dict[str, float] = {}
    for k in dict.fromkeys(kind(f) for f in files):
        sample = [f for f in files if kind(f) == k][:per_kind]
        thumbs = Thumbnailer(sample[0].parent, cfg)
        t = cpu()
        for f in sample:
            asset = {"library_path": f.name, "media_type": "video" if k == "4K video" else "image"}
            for img in thumbs.images(asset).values():
                render.encode(img, thumbs.encoding)
        out[k] = (cpu() - t) / len(sample)
    return out


# -- the database ------------------------------------------------------------------------------
#: The bench's own cluster (not the tests' shared one): every process of it is the bench's, so its
#: whole CPU is PostgreSQL's cost of the pipeline, and it loads pg_stat_statements.
BENCH_PG = Path(tempfile.gettempdir()) / "photo-factory-bench-pg"
BENCH_PG_PORT = 54339
BENCH_PG_OPTS = ("-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
                 " -c pg_stat_statements.max=5000 -c pg_stat_statements.track_planning=on -c track_io_timing=on")


def server_url() -> str:
    """``PF_BENCH_DATABASE_URL`` (PostgreSQL's CPU is then not measured), or the bench's own cluster."""
    url = os.environ.get("PF_BENCH_DATABASE_URL")
    if url:
        return url
    return localpg.ensure_cluster(BENCH_PG, BENCH_PG_PORT, BENCH_PG_OPTS)


def postmaster_pid(server: str) -> int | None:
    """The bench cluster's postmaster (its process tree is PostgreSQL's whole CPU), None when the
    server is not the bench's own or lacks pg_stat_statements."""
    if os.environ.get("PF_BENCH_DATABASE_URL"):
        return None
    with psycopg2.connect(server) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting('shared_preload_libraries')")
        if "pg_stat_statements" not in cur.fetchone()[0]:
            print("note: the bench cluster runs without pg_stat_statements (started by an older bench): "
                  f"stop it (pg_ctl -D {BENCH_PG} stop) to measure statements", flush=True)
            return None
    try:
        return int((BENCH_PG / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


#: per statement over the run: calls, rows, exec ms; toplevel = sent by a client (else run by a trigger)
STATEMENTS_SQL = """
SELECT toplevel, calls, rows, total_exec_time + total_plan_time, regexp_replace(query, '\\s+', ' ', 'g')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND query NOT LIKE '%%pg_stat_statements%%' AND query NOT LIKE '%%bench-probe%%'
 ORDER BY total_exec_time + total_plan_time DESC
"""


#: a new migrated database (name, url) and its removal: the ingest bench's, shared by every bench
fresh_database = ingest_bench._fresh_database
drop_database = ingest_bench._drop_database


def _own_cpu_s() -> float:
    """CPU seconds of this process (the bench: its polling and the /proc sampler thread)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def machine_busy_s() -> float:
    """CPU seconds every process of the machine used so far (all cores)."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in parts[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# -- the services --------------------------------------------------------------------------------
@dataclass
class Result:
    files: int
    seconds: float
    cpu: dict[str, float]
    others_cpu_s: float
    memory: dict[str, dict[str, float]]
    #: CPU seconds of the bench cluster's processes (backends, WAL writer, checkpointer,
    #: autovacuum) minus the bench's own probe connection; None when not measured
    pg_cpu_s: float | None = None
    #: (toplevel, calls, rows, exec ms, query) from pg_stat_statements over the run
    statements: list[tuple] = field(default_factory=list)
    #: PostgreSQL CPU seconds by client (application name) or process kind
    pg_by: dict[str, float] = field(default_factory=dict)
    #: fill / steady / drain: when the first asset was recorded and thumbnailed, when the last was
    #: recorded, and the idle core-seconds of the machine in each phase
    phases: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of the bench's own polling and sampling (its process and its PostgreSQL backend)
    bench_cpu_s: float = 0.0
    #: per service, (first, last) second after the drop at which it used CPU (sampled every 0.2 s)
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def per_min(self) -> float:
        return self.files * 60.0 / self.seconds

    @property
    def cpu_per_file(self) -> float:
        return sum(self.cpu.values()) / self.files

    def ceiling(self, cores: float) -> float:
        return cores * 60.0 / self.cpu_per_file


class Pipeline:
    """A fresh database and storage with the services running as processes."""

    def __init__(self, server: str, replicas: int, geocode: bool = True, extra_env: dict | None = None):
        self.server, self.replicas, self.geocode = server, replicas, geocode
        self.work = Path(tempfile.mkdtemp(prefix="pf-bench-pipeline-", dir=CACHE.parent))
        self.inbox, self.storage = self.work / "inbox", self.work / "storage"
        self.inbox.mkdir()
        self.db_name, self.url = fresh_database(server, "pf_bench_pipeline")
        self.env = {**os.environ, "PF_DATABASE_URL": self.url, "PF_INBOX_DIR": str(self.inbox),
                    "PF_STORAGE_DIR": str(self.storage), "PF_STABILITY_SECONDS": str(QUIET_S),
                    "PF_LOG_LEVEL": "WARNING", "PF_HEARTBEAT_SECONDS": "10", **(extra_env or {})}
        self.procs: dict[str, subprocess.Popen] = {}
        self.conn = psycopg2.connect(self.url)
        self.conn.autocommit = True
        self.postmaster = postmaster_pid(server)
        if self.postmaster is not None:
            with self.conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def __enter__(self) -> Pipeline:
        exe = str(Path(sys.executable).with_name("photo-factory"))
        logs = self.work / "logs"
        logs.mkdir()
        names = ["librarian"] + [f"thumbnails-{i + 1}" for i in range(self.replicas)]
        names += ["geocode"] if self.geocode else []
        for name in names:
            with open(logs / f"{name}.log", "wb") as log:
                self.procs[name] = subprocess.Popen([exe, name.split("-")[0]], env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)
        workers = self.replicas + (1 if self.geocode else 0)
        ok = procstat.wait_until(lambda: self.scalar("SELECT count(*) FROM stage_workers") >= workers and
                                 self.scalar("SELECT count(*) FROM system_status WHERE service = 'librarian' "
                                             "AND status <> 'starting'") == 1, 60, 0.2)
        if not ok:
            self._dump_logs()
            raise SystemExit("the services did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.conn.close()
        drop_database(self.server, self.db_name)
        shutil.rmtree(self.work, ignore_errors=True)

    def _dump_logs(self) -> None:
        for f in sorted((self.work / "logs").iterdir()):
            print(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}", file=sys.stderr)

    def scalar(self, sql: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])

    def done(self) -> int:
        """Assets finished by every stage that applies to them."""
        geo = "AND (is_geocoded OR location IS NULL)" if self.geocode else ""
        return self.scalar(f"SELECT count(*) FROM media_assets WHERE is_thumbnailed {geo}")

    def counts(self) -> tuple[int, int, int]:
        """(assets recorded, thumbnailed, finished by every stage that applies to them)."""
        geo = "AND (is_geocoded OR location IS NULL)" if self.geocode else ""
        with self.conn.cursor() as cur:
            cur.execute("SELECT /* bench-probe */ count(*), count(*) FILTER (WHERE is_thumbnailed), "
                        f"count(*) FILTER (WHERE is_thumbnailed {geo}) FROM media_assets")
            rows, thumbed, done = cur.fetchone()
        return int(rows), int(thumbed), int(done)

    def roots(self) -> dict[str, int]:
        roots = {name: p.pid for name, p in self.procs.items()}
        if self.postmaster is not None:  # measured apart from the services (not in the ceiling)
            roots["postgres"] = self.postmaster
            roots["bench-probe"] = self.conn.get_backend_pid()  # our own polling, subtracted
        return roots

    def reset_statements(self) -> None:
        if self.postmaster is not None:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_stat_statements_reset()")

    def backends(self) -> dict[int, str]:
        """pid -> application name (or backend type) of the bench cluster's live processes."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT pid, coalesce(nullif(application_name, ''), backend_type) FROM pg_stat_activity")
            return {int(pid): str(name) for pid, name in cur.fetchall()}

    def statements(self) -> list[tuple]:
        if self.postmaster is None:
            return []
        with self.conn.cursor() as cur:
            cur.execute(STATEMENTS_SQL)
            return [tuple(r) for r in cur.fetchall()]

    def stage(self, files: list[Path], tag: str) -> Path:
        """Copies of ``files`` next to the inbox (not hard links: the librarian copies those
        instead of moving them, so linked files would time its copy path)."""
        tmp = self.inbox.parent / f"staging-{tag}"
        tmp.mkdir()
        for f in files:
            shutil.copyfile(f, tmp / f.name)
        subprocess.run(["sync"], check=True)
        return tmp

    def arrive(self, staged: Path, tag: str) -> None:
        os.rename(staged, self.inbox / tag)  # everything arrives at once, as a synced folder does


def throughput(server: str, files: list[Path], replicas: int, geocode: bool,
               latency_files: tuple[Path, ...] = ()) -> tuple[Result, list[float]]:
    # sampled every 0.5 s: the CPU totals are exact whatever the interval (each process's own
    # counters); the interval is only the timeline's resolution, and the sampler's CPU is taken
    # from the services it measures
    with Pipeline(server, replicas, geocode) as pipe, procstat.Sampler(pipe.roots(), interval=0.5) as sampler:
        time.sleep(1.0)  # settle: start-up CPU is not the pipeline's
        tmp = pipe.stage(files, "batch")  # copied before the clock starts
        pipe.reset_statements()
        sampler.mark()
        busy0 = machine_busy_s()
        self0 = _own_cpu_s()
        t0 = time.perf_counter()
        pipe.arrive(tmp, "batch")
        timeline: list[tuple[float, int, int, int, float]] = []  # s since t0, rows, thumbed, done, busy s

        # polled often while the pipeline fills and near its end (the timeline's and the clock's
        # resolution), less in between: the bench's own polling is CPU the pipeline does not get
        deadline = time.monotonic() + 1800
        while True:
            rows, thumbed, done = pipe.counts()
            timeline.append((time.perf_counter() - t0, rows, thumbed, done, machine_busy_s() - busy0))
            if done >= len(files):
                break
            if time.monotonic() > deadline:
                pipe._dump_logs()
                raise SystemExit(f"only {done} of {len(files)} files went through")
            near_end = len(files) - done <= 4 * (replicas + 1)
            time.sleep(0.02 if near_end else 0.1 if thumbed == 0 or rows < len(files) else 0.5)
        seconds = time.perf_counter() - t0
        spans = procstat.busy_spans(sampler.series, t0, t0 + seconds)
        statements = pipe.statements()
        cpu = sampler.cpu_since_mark()
        pg_by: dict[str, float] = {}
        if "postgres" in sampler.trees:
            names, base = pipe.backends(), sampler.pid_base.get("postgres", {})
            probe_pid = sampler.trees["bench-probe"].root
            for pid, s in sampler.trees["postgres"].cpu.items():
                if pid == probe_pid:
                    continue
                key = names.get(pid, "exited (autovacuum, …)").split("@")[0].split(":")[0]
                pg_by[key] = pg_by.get(key, 0.0) + s - base.get(pid, 0.0)
        probe = cpu.pop("bench-probe", 0.0)  # the bench's polling backend (in the postgres tree)
        own = _own_cpu_s() - self0 + probe  # the bench's polling and sampling (in "the rest")
        pg = cpu.pop("postgres", None)
        pg_cpu = None if pg is None else max(0.0, pg - probe)
        # the rest of the machine: everything but the services and PostgreSQL's work for them
        others = max(0.0, machine_busy_s() - busy0 - sum(cpu.values()) - (pg_cpu or 0.0))
        memory = {name: t.summary() for name, t in sampler.trees.items() if name not in ("postgres", "bench-probe")}
        phases = fill_and_drain(timeline, len(files), os.cpu_count() or 1, replicas)
        lat = []
        for i, f in enumerate(latency_files):
            before = pipe.done()
            staged = pipe.stage([f], f"one-{i}")
            time.sleep(0.5)
            t = time.perf_counter()
            pipe.arrive(staged, f"one-{i}")
            if not procstat.wait_until(lambda b=before: pipe.done() > b, 120, 0.02):
                raise SystemExit("a single photo did not go through")
            lat.append(time.perf_counter() - t)
        return Result(len(files), seconds, cpu, others, memory, phases=phases, pg_cpu_s=pg_cpu,
                      statements=statements, pg_by=pg_by, spans=spans, bench_cpu_s=own), lat


def fill_and_drain(timeline: list[tuple[float, int, int, int, float]], n: int, cores: int,
                   replicas: int) -> dict[str, float]:
    """Fill and drain, from ``(seconds, rows, thumbnailed, done, machine busy s)`` samples: when
    the first asset was recorded and done, when the last was recorded, and per phase (before the
    first row: the quiet period and the librarian's first chunk; while the librarian records;
    after its last row: the drain) the machine's idle core-seconds (cores x time - CPU used by
    every process: meaningful on a quiet box only) and the thumbnail workers' starved
    worker-seconds (a worker with nothing to claim: ``replicas`` minus the assets recorded and
    not yet thumbnailed, whatever else runs on the box)."""
    def first(pred) -> tuple[float, float]:
        for t, rows, thumbed, done, busy in timeline:
            if pred(rows, thumbed, done):
                return t, busy
        return timeline[-1][0], timeline[-1][4]

    end_t, end_busy = timeline[-1][0], timeline[-1][4]
    row1_t, row1_busy = first(lambda rows, _t, _d: rows > 0)
    done1_t, _ = first(lambda _r, _t, done: done > 0)
    rows_t, rows_busy = first(lambda rows, _t, _d: rows >= n)
    starved = {"fill": 0.0, "steady": 0.0, "drain": 0.0}
    prev_t = 0.0
    for t, rows, thumbed, _done, _busy in timeline:
        phase = "fill" if t <= row1_t else "steady" if t <= rows_t else "drain"
        starved[phase] += (t - prev_t) * max(0, replicas - (rows - thumbed))
        prev_t = t
    return {"first_row_s": row1_t, "first_done_s": done1_t, "last_row_s": rows_t, "end_s": end_t,
            "idle_fill": cores * row1_t - row1_busy,
            "idle_steady": cores * (rows_t - row1_t) - (rows_busy - row1_busy),
            "idle_drain": cores * (end_t - rows_t) - (end_busy - rows_busy),
            **{f"starved_{k}": v for k, v in starved.items()}}


def report(label: str, r: Result, cores: int, statements: int = 10) -> float:
    ceiling = r.ceiling(cores)
    left = max(cores - r.others_cpu_s / r.seconds, 0.1)
    per = " + ".join(f"{k} {v / r.files * 1000:.0f}" for k, v in sorted(r.cpu.items()))
    print(f"{label}: {r.files} files in {r.seconds:.1f} s = {r.per_min:.0f} files/min; CPU per file "
          f"{r.cpu_per_file * 1000:.0f} ms ({per} ms)")
    print(f"    ceiling {cores} cores / CPU per file = {ceiling:.0f} files/min -> ratio {r.per_min / ceiling:.2f};"
          f" the rest of the machine took {r.others_cpu_s / r.seconds:.2f} cores meanwhile (the bench's own"
          f" polling and sampling {r.bench_cpu_s / r.seconds:.2f}): ceiling on the "
          f"{left:.2f} cores left = {r.ceiling(left):.0f} files/min -> ratio {r.per_min / r.ceiling(left):.2f}",
          flush=True)
    if r.pg_cpu_s is not None:
        top = [st for st in r.statements if st[0]]
        print(f"    PostgreSQL CPU (the bench cluster's processes, not in the ceiling): {r.pg_cpu_s:.1f} s = "
              f"{r.pg_cpu_s / r.files * 1000:.1f} ms per file, {r.pg_cpu_s / r.seconds:.2f} cores; statements "
              f"per file: {sum(st[1] for st in top) / r.files:.1f} sent, "
              f"{sum(st[1] for st in r.statements if not st[0]) / r.files:.1f} run by triggers and functions; "
              f"plan + executor time {sum(st[3] for st in top) / r.files:.2f} ms per file", flush=True)
        print("      CPU ms per file by client: " + ", ".join(
            f"{k} {v / r.files * 1000:.1f}" for k, v in sorted(r.pg_by.items(), key=lambda kv: -kv[1]) if v > 0.005))
        for toplevel, calls, _rows, ms, query in r.statements[:statements]:
            print(f"      {ms / r.files:6.3f} ms/file {calls / r.files:6.2f} calls/file "
                  f"{'' if toplevel else '(nested) '}{query[:110]}")
    ph = r.phases
    if ph:
        print(f"    fill: first asset recorded at {ph['first_row_s']:.2f} s, first done at {ph['first_done_s']:.2f} s; "
              f"last recorded at {ph['last_row_s']:.2f} s, all done at {ph['end_s']:.2f} s; idle core-s: "
              f"fill {ph['idle_fill']:.1f}, steady {ph['idle_steady']:.1f}, drain {ph['idle_drain']:.1f} "
              f"(of {cores * ph['end_s']:.0f}); thumbnail workers starved (worker-s): fill {ph['starved_fill']:.1f}, "
              f"steady {ph['starved_steady']:.1f}, drain {ph['starved_drain']:.1f}", flush=True)
    if r.spans:  # where the idle core-seconds are: who was busy when, and how much of the run
        spans = sorted((k, v) for k, v in r.spans.items() if k not in ("postgres", "bench-probe"))
        print("    timeline (s after the drop; CPU share of the run): " + "; ".join(
            f"{k} {a:.2f}-{b:.2f} ({r.cpu.get(k, 0.0) / r.seconds:.2f})" for k, (a, b) in spans), flush=True)
        workers = [v for k, v in spans if k.startswith("thumbnails")]
        if workers:
            print(f"    thumbnails: first worker busy at {min(a for a, _ in workers):.2f} s (first asset recorded "
                  f"at {ph.get('first_row_s', 0.0):.2f} s); tail: the first worker to run dry stopped "
                  f"{r.seconds - min(b for _, b in workers):.2f} s before the end", flush=True)
    return r.per_min / r.ceiling(left)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("PF_BENCH_PIPELINE_FILES", "500")))
    ap.add_argument("--replicas", type=int, nargs="+", default=[2], help="thumbnail workers (each a run)")
    ap.add_argument("--mix", action="store_true", help="add 12 MP HEICs (n/10) and two 3 s 4K videos")
    ap.add_argument("--no-geocode", action="store_true")
    ap.add_argument("--latency", type=int, default=10, help="single photos timed drop -> thumbnailed")
    ap.add_argument("--statements", type=int, default=10, help="the costliest statements to print")
    ap.add_argument("--json", type=Path, help="also write the results here (bench/memory reads them)")
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    files = jpegs(args.n + args.latency)
    batch, singles = files[:args.n], files[args.n:]
    if args.mix:
        batch = batch + mix(max(1, args.n // 10), 2)
    server = server_url()
    if args.mix:
        counts = {k: sum(1 for f in batch if kind(f) == k) for k in dict.fromkeys(kind(f) for f in batch)}
        by_kind = thumbnail_cpu_by_kind(batch)
        print("mix: " + ", ".join(f"{n} x {k}" for k, n in counts.items()) + "; thumbnail CPU per file: "
              + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in by_kind.items())
              + f" (measured outside the run; HEIC {_base_heic().stat().st_size / 2**20:.1f} MB)", flush=True)
    print(f"pipeline: {len(batch)} files ({'12 MP JPEG + HEIC + 4K video' if args.mix else '12 MP JPEG'}), "
          f"librarian + thumbnails{'' if args.no_geocode else ' + geocode (offline)'}, quiet period "
          f"{QUIET_S:.0f} s, {cores} cores", flush=True)
    results = {}
    for i, replicas in enumerate(args.replicas):
        lat_files = tuple(singles) if i == len(args.replicas) - 1 else ()
        r, lat = throughput(server, batch, replicas, not args.no_geocode, lat_files)
        ratio = report(f"{replicas} thumbnail worker(s)", r, cores, args.statements)
        results[replicas] = {"files_per_min": r.per_min, "ratio_left": ratio, "cpu": r.cpu, "memory": r.memory}
        if lat:
            q = statistics.quantiles(lat, n=20) if len(lat) > 1 else lat * 19
            p95 = q[18]
            print(f"latency drop -> thumbnailed over {len(lat)} photos: p50 {statistics.median(lat):.2f} s, "
                  f"p95 {p95:.2f} s (target <= {QUIET_S + 0.5:.1f} s: {'met' if p95 <= QUIET_S + 0.5 else 'NOT met'})")
            results["latency"] = {"p50": statistics.median(lat), "p95": p95}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
