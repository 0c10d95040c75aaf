"""The inbox: what to look at, what never to touch, and when a file is complete.

The watcher (watchdog) and the periodic rescan only *note* candidate paths; the service loop
asks :meth:`Candidates.ready` which of them are stable: no event for the quiet period and the
same size and mtime on two looks at least the quiet period apart.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from photo_factory.folders import Fence

log = logging.getLogger(__name__)

#: Never touched, never reported: Syncthing's temporaries and control entries, hidden files,
#: OS junk, NAS thumbnail folders, our own temporary files.
IGNORED_NAMES = ("Thumbs.db", "desktop.ini", "@eaDir", "#recycle", "#snapshot", "lost+found")
IGNORED_PATTERNS = (".*", "~syncthing~*.tmp", "*.part", "*.crdownload", "._*")


def is_ignored(name: str) -> bool:
    """True for names the librarian must never touch (``.stfolder``, ``.syncthing.x.tmp``, …)."""
    return name in IGNORED_NAMES or any(fnmatch.fnmatchcase(name, p) for p in IGNORED_PATTERNS)


def is_ignored_path(rel: Path) -> bool:
    return any(is_ignored(part) for part in rel.parts)


def walk(root: Path, fence: Fence | None = None) -> Iterator[Path]:
    """Every non-ignored entry below ``root`` that is not a directory (symlinks included, never
    followed: a symlink to a folder is yielded as an entry, not descended into). A folder in
    ``fence`` (the storage, recognised by identity, so also behind a bind mount) is never entered."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot list %s: %s", folder, exc.strerror)
            continue
        for entry in entries:
            if is_ignored(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if fence is not None and entry.path in fence:
                        log.error("%s is the storage (or inside it) seen through the inbox: never "
                                  "taken; keep the inbox and the storage apart", entry.path)
                        continue
                    stack.append(Path(entry.path))
                    continue
            except OSError:
                continue
            yield Path(entry.path)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time this (size, mtime) was first seen
    last_event: float


class Candidates:
    """Thread-safe set of paths waiting to become stable."""

    def __init__(self, quiet_seconds: float, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.quiet = quiet_seconds
        self.clock = clock
        self.wall = wall
        #: Trust the file system's own change times (mtime and ctime older than the quiet period
        #: mean "unchanged across it") — set only after :func:`file_clock_agrees` proved that the
        #: inbox's clock is ours (a network share with a lagging clock must not pass).
        self.trust_file_times = False
        self._lock = threading.Lock()
        self._paths: dict[Path, _Seen | None] = {}
        self._events: dict[Path, float] = {}
        #: path -> (not before, the (size, mtime) it was deferred in, or None for any)
        self._deferred: dict[Path, tuple[float, tuple[int, int] | None]] = {}
        #: the regular files the last :meth:`ready` looked at and found still waiting for their
        #: quiet period (not deferred), with that look's ``lstat``: what may be read ahead
        #: (librarian/speculate.py) while they wait
        self.settling: list[tuple[Path, os.stat_result]] = []

    def note(self, path: Path, event: bool = False) -> None:
        with self._lock:
            if path not in self._paths:
                self._paths[path] = None
            if event:
                self._events[path] = self.clock()

    def discard(self, path: Path) -> None:
        with self._lock:
            self._paths.pop(path, None)
            self._events.pop(path, None)
            self._deferred.pop(path, None)

    def defer(self, path: Path, seconds: float, unless_changed_from: os.stat_result | None = None) -> None:
        """Do not offer ``path`` again for ``seconds`` (a file that failed unexpectedly); with
        ``unless_changed_from``, only while it keeps that size and mtime (an incomplete file
        that grows is looked at again at once, and offered when it has settled again)."""
        st = unless_changed_from
        with self._lock:
            self._deferred[path] = (self.clock() + seconds, None if st is None else (st.st_size, st.st_mtime_ns))

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: Path) -> bool:
        return path in self._paths

    def pending(self) -> list[Path]:
        with self._lock:
            return list(self._paths)

    def ready(self, limit: int) -> list[Path]:
        """Paths that are stable now (up to ``limit``); vanished paths are dropped."""
        now = self.clock()
        out: list[Path] = []
        settling: list[tuple[Path, os.stat_result]] = []
        self.settling = settling
        with self._lock:
            items = list(self._paths.items())
        for path, seen in items:
            if len(out) >= limit:
                break
            until, held_in = self._deferred.get(path, (0.0, None))
            if until > now and held_in is None:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                self.discard(path)
                continue
            except OSError:
                out.append(path)  # unreadable: let ingest quarantine it
                continue
            if until > now and held_in == (st.st_size, st.st_mtime_ns):
                continue
            if not stat.S_ISREG(st.st_mode):
                out.append(path)  # symlinks, fifos: ingest decides (quarantine), no waiting
                continue
            last_event = self._events.get(path, 0.0)
            with self._lock:
                if seen is None and self._quiet_by_file_times(st) and now - last_event >= self.quiet:
                    # first look, but the kernel says nothing touched it for the quiet period
                    seen = self._paths[path] = _Seen(st.st_size, st.st_mtime_ns, now - self.quiet, last_event)
                elif seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                    self._paths[path] = _Seen(st.st_size, st.st_mtime_ns, now, last_event)
                    if self.quiet > 0:
                        settling.append((path, st))
                        continue
                    seen = self._paths[path]
            assert seen is not None
            if now - seen.since >= self.quiet and now - last_event >= self.quiet:
                out.append(path)
            else:
                settling.append((path, st))
        return out

    def next_due(self) -> float | None:
        """Seconds until the earliest waiting path can have been quiet long enough (0: now);
        None when nothing waits. The loop sleeps this long, not a whole poll interval: a file
        that settles just after a look is taken when it settles, not one interval later."""
        now = self.clock()
        with self._lock:
            if not self._paths:
                return None
            due = min(max(self._deferred.get(path, (0.0, None))[0],
                          (seen.since if seen is not None else now) + self.quiet,
                          self._events.get(path, 0.0) + self.quiet)
                      for path, seen in self._paths.items())
        return max(0.0, due - now)

    def _quiet_by_file_times(self, st: os.stat_result) -> bool:
        if not self.trust_file_times or self.quiet <= 0:
            return False
        age = self.wall() - max(st.st_mtime, st.st_ctime)
        return self.quiet <= age < 10 * 365 * 86400


def file_clock_agrees(folder: Path, tolerance: float = 1.0) -> bool:
    """True when files created in ``folder`` get change times from our own clock (a local disk,
    or a share whose server clock agrees within ``tolerance`` seconds)."""
    probe = folder / f".pf-clock-probe-{os.getpid()}"
    try:
        before = time.time()
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        st = os.stat(probe)
        after = time.time()
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return before - tolerance <= st.st_ctime <= after + tolerance and \
        before - tolerance <= st.st_mtime <= after + tolerance


class Watcher:
    """watchdog observer that notes every created/modified/moved-in file as a candidate."""

    def __init__(self, root: Path, candidates: Candidates, wake: threading.Event,
                 fence: Fence | None = None):
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        self.root = root
        self.fence = fence
        outer = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory and event.event_type != "moved":
                    return
                path = getattr(event, "dest_path", "") or event.src_path
                outer._noted(Path(os.fsdecode(path)))

        self._candidates = candidates
        self._wake = wake
        self._observer = Observer()
        self._observer.schedule(Handler(), str(root), recursive=True)

    def _noted(self, path: Path) -> None:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return
        if is_ignored_path(rel):
            return
        if self.fence is not None and self.fence.encloses(path, self.root):
            return  # the storage seen through the inbox (a bind mount): never inbox content
        if path.is_dir() and not path.is_symlink():
            # a folder moved in whole: its files are noted by the next scan of it
            for p in walk(path, self.fence):
                self._candidates.note(p, event=True)
        else:
            self._candidates.note(path, event=True)
        self._wake.set()

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
