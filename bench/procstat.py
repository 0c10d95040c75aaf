"""CPU and memory of process trees, sampled from ``/proc`` (Linux): what the benchmarks measure
services with. A sampler thread walks each root's descendants every ``interval`` seconds and keeps,
per process, its last CPU time (user + system) and its resident set; a tree's CPU is the sum over
every process ever seen in it (children that live shorter than one interval are missed)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, cpu seconds, rss MB) of one process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state): ppid=4, utime=14, stime=15, rss=24
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE / 2**20


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the exact peak resident set of a live process."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass
class Tree:
    """One service: its root process and everything it started."""

    name: str
    root: int
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> last seen cpu seconds
    rss_samples: list[float] = field(default_factory=list)  # the whole tree, MB
    main_samples: list[float] = field(default_factory=list)  # the root process alone, MB
    main_hwm: float = 0.0
    #: the root process's RSS when the measured run started (after start-up, before any work)
    idle_mb: float = 0.0

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def summary(self) -> dict[str, float]:
        rss = self.rss_samples or [0.0]
        main = self.main_samples or [0.0]
        return {"cpu_s": self.cpu_s, "idle_mb": self.idle_mb, "steady_mb": statistics.median(main),
                "peak_mb": self.main_hwm or max(main),
                "tree_steady_mb": statistics.median(rss), "tree_peak_mb": max(rss)}


class Sampler:
    """Samples the trees of ``roots`` ({name: pid}) until stopped; ``mark()`` restarts the CPU count."""

    def __init__(self, roots: dict[str, int], interval: float = 0.2):
        self.trees = {name: Tree(name, pid) for name, pid in roots.items()}
        self.interval = interval
        self._stop = threading.Event()
        self._base: dict[str, float] = {}
        #: per tree, each process's CPU seconds at mark()
        self.pid_base: dict[str, dict[int, float]] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        #: (time.perf_counter(), {tree: CPU seconds}) at every sample: when each service was busy
        self.series: list[tuple[float, dict[str, float]]] = []
        #: pids seen outside every tree: not read again while they live (a process never joins a
        #: tree later; reading every process's stat each sample was most of the sampler's CPU)
        self._outside: set[int] = set()

    def __enter__(self) -> Sampler:
        self.sample(hwm=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(hwm=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self, hwm: bool = False) -> None:
        """One look at every tree; ``hwm``: also each root's peak resident set (VmHWM, a high-water
        mark: read at the first and the last look only, not every interval)."""
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
        self._outside.intersection_update(pids)  # an ended pid may come back as a new process
        procs: dict[int, tuple[int, float, float]] = {}
        for pid in pids:
            if pid not in self._outside:
                st = _stat(pid)
                if st is not None:
                    procs[pid] = st
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        self.series.append((time.perf_counter(), {}))
        members: set[int] = set()
        for tree in self.trees.values():
            if tree.root not in procs:
                continue
            todo, rss = [tree.root], 0.0
            while todo:
                pid = todo.pop()
                members.add(pid)
                _, cpu, mb = procs[pid]
                tree.cpu[pid] = cpu
                rss += mb
                todo.extend(children.get(pid, []))
            self.series[-1][1][tree.name] = tree.cpu_s
            tree.rss_samples.append(rss)
            tree.main_samples.append(procs[tree.root][2])
            if hwm:
                tree.main_hwm = max(tree.main_hwm, peak_rss_mb(tree.root) or 0.0)
        self._outside.update(pid for pid in procs if pid not in members)

    def mark(self) -> None:
        """Start counting CPU (and memory samples) from now."""
        self.sample()
        self._base = {name: t.cpu_s for name, t in self.trees.items()}
        self.pid_base = {name: dict(t.cpu) for name, t in self.trees.items()}
        for t in self.trees.values():
            t.idle_mb = t.main_samples[-1] if t.main_samples else 0.0
            t.rss_samples.clear()
            t.main_samples.clear()

    def cpu_since_mark(self) -> dict[str, float]:
        self.sample(hwm=True)
        return {name: t.cpu_s - self._base.get(name, 0.0) for name, t in self.trees.items()}


def busy_spans(series: list[tuple[float, dict[str, float]]], t0: float, t1: float,
               min_cpu_s: float = 0.02) -> dict[str, tuple[float, float]]:
    """Per tree, (first, last) second after ``t0`` at which it used CPU between ``t0`` and ``t1``
    (a sample interval's use of at least ``min_cpu_s``); a tree that never did is left out."""
    spans: dict[str, tuple[float, float]] = {}
    prev: dict[str, float] = {}
    prev_t = None
    for t, cpus in series:
        for name, cpu in cpus.items():
            if prev_t is not None and t0 <= t and prev_t <= t1 and cpu - prev.get(name, cpu) >= min_cpu_s:
                first = spans.get(name, (max(prev_t, t0) - t0, 0.0))[0]
                spans[name] = (first, min(t, t1) - t0)
            prev[name] = cpu
        prev_t = t
    return spans


def wait_until(cond, timeout: float, every: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(every)
    return cond()
