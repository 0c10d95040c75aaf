"""A ``exiftool -stay_open`` process that can neither hang nor be steered by a file name.

PyExifTool starts the process and checks its version; :class:`BoundedExifTool` replaces its
``execute`` (which reads until the ``{ready}`` sentinel with no deadline and spins at 100 % CPU
on end-of-file once the process died) with one that reads stdout and stderr together, gives up
after a deadline or when the service is stopping, and kills the process on any failure.

ExifTool reads its arguments one per line, and a line starting with ``-`` is an option: a file
named ``evil\\n-Directory=x\\nx.jpg`` would move every other file of the call. :class:`Aliases`
gives every path that is not plainly safe (absolute, valid UTF-8, printable characters only) a
generated name in a private per-process folder, a symbolic link to the real file: ExifTool only
ever sees names it cannot read as anything but a file name.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import exiftool  # PyExifTool

from librarian import early
from photo_factory import tools


class ExifToolFailed(tools.ToolError):
    """The ExifTool process died, stalled (and was killed), or the service is stopping."""


_SAFE_EXT = re.compile(rb"\.[A-Za-z0-9]{1,10}")


safe_arg = early.safe_arg  # one rule for every name handed to ExifTool


class Aliases:
    """Generated safe names (symbolic links in a private folder) for unsafe file names."""

    def __init__(self) -> None:
        self._dir: bytes | None = None
        self._lock = threading.Lock()
        self._count = itertools.count()

    def arg_for(self, path: Path) -> tuple[bytes, bytes | None]:
        """``(argument, alias)``: the path itself when safe, else a fresh alias (remove it with
        :meth:`drop`). Raises OSError when no alias can be made (the caller falls back)."""
        real = os.fsencode(os.path.abspath(path))
        if safe_arg(real):
            return real, None
        ext = os.path.splitext(os.path.basename(real))[1]
        alias = os.path.join(self._folder(), b"f%08d%s" % (next(self._count), ext if _SAFE_EXT.fullmatch(ext)
                                                            else b""))
        os.symlink(real, alias)
        return alias, alias

    def _folder(self) -> bytes:
        with self._lock:
            if self._dir is None or not os.path.isdir(self._dir):
                folder = os.fsencode(tempfile.mkdtemp(prefix="pf-exiftool-"))  # mode 0700, ours only
                if not safe_arg(folder + b"/x"):
                    shutil.rmtree(folder, ignore_errors=True)
                    raise OSError(f"temporary folder {folder!r} is not a safe ExifTool argument")
                self._dir = folder
            return self._dir

    @staticmethod
    def drop(alias: bytes | None) -> None:
        if alias is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(alias)

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None


class BoundedExifTool(exiftool.ExifTool):
    """PyExifTool's process with a bounded, death-aware ``execute`` (see the module docstring)."""

    #: seconds a call may take (set per call by the reader; also bounds the version check)
    timeout_s: float = 60.0

    def __init__(self, *args: object, stopping: Callable[[], bool] = lambda: False, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stopping = stopping  # True once the service stops: a running call is abandoned

    def run(self) -> None:
        """Start ExifTool, or adopt the idle process started ahead with this command line (early.py)."""
        command = early.argv(self._executable, list(self._common_args or []))
        proc = early.take(command) if self._config_file is None else None
        if proc is None:
            super().run()
        else:
            self._process = proc
            self._running = True
            forget_read_ahead(proc)
            try:
                self._ver = self._parse_ver()  # what PyExifTool's run checks: it is ExifTool, and answers
            except BaseException:
                self.kill()
                raise
        tools._register(self._process)  # killed by a hard stop with every other tool

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """End the process at once (SIGKILL: a stopped or stalled ExifTool cannot refuse)."""
        proc = self._process
        if proc is None:
            return
        tools._unregister(proc)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
        self._flag_running_false()

    def execute(self, *params: str | bytes, raw_bytes: bool = False) -> str | bytes:  # type: ignore[override]
        """Run one command; stdout without the sentinel. Raises :class:`ExifToolFailed`."""
        if not self.running:
            raise ExifToolFailed("tool_died", "exiftool is not running")
        seq = random.randint(100000, 999999)
        ready, post = b"{ready%d}" % seq, b"post%d" % seq
        args = [p if isinstance(p, bytes) else p.encode() for p in params]
        assert all(b"\n" not in a for a in args), "an argument with a line break"
        payload = b"\n".join([*args, b"-echo4", post, b"-execute%d" % seq]) + b"\n"
        try:
            out, err = self._exchange(payload, ready, post)
        except BaseException:
            self.kill()  # never reuse a process in an unknown state
            raise
        stdout = out.strip()[: -len(ready)].rstrip()
        self._last_stdout, self._last_stderr = stdout, err.strip()[: -len(post)]
        return stdout if raw_bytes else stdout.decode("utf-8", errors="replace")

    def _exchange(self, payload: bytes, ready: bytes, post: bytes) -> tuple[bytes, bytes]:
        assert self._process is not None
        return exchange(self._process, payload, ready, post, self.timeout_s, self.stopping)


#: bytes read from a process started ahead past the answer taken (its next calls' output)
_read_on: dict[tuple[subprocess.Popen, int], bytes] = {}


def read_ahead_answer(proc: subprocess.Popen, seq: int, timeout_s: float, stopping: Callable[[], bool]) -> bytes:
    """The JSON answer of the read-ahead call ``seq`` of a process started ahead (early.py),
    the next one in its pipe. Its later calls are already queued, so a read can run past this
    answer into the next: what follows the marker is kept for the next call. Raises
    :class:`ExifToolFailed` (the caller kills the process)."""
    assert proc.stdout and proc.stderr
    fout, ferr = proc.stdout.fileno(), proc.stderr.fileno()
    ends = {fout: b"{ready%d}" % seq, ferr: b"post%d" % seq}
    got = {fd: _read_on.pop((proc, fd), b"") for fd in ends}
    deadline = time.monotonic() + timeout_s
    while True:
        todo = [fd for fd in ends if not _line_in(got[fd], ends[fd])]
        if not todo:
            break
        left = _time_left(proc, deadline, timeout_s, stopping)
        r, _, _ = select.select(todo, [], [], min(left, 0.25))
        for fd in r:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise ExifToolFailed("tool_died", f"exiftool (pid {proc.pid}) died (exit status {proc.poll()})")
            got[fd] += chunk
    answer = b""
    for fd, end in ends.items():
        at = _line_in(got[fd], end)
        if fd == fout:
            answer = got[fd][:at - len(end)]
        rest = got[fd][at:].lstrip(b"\r\n")
        if rest:
            _read_on[(proc, fd)] = rest
    return answer.strip()


def forget_read_ahead(proc: subprocess.Popen | None = None) -> None:
    """Drop what was read past the answers of a process started ahead (killed, or adopted with
    every answer taken), or of all of them."""
    for key in [k for k in _read_on if proc is None or k[0] is proc]:
        _read_on.pop(key, None)


def _time_left(proc: subprocess.Popen, deadline: float, timeout_s: float, stopping: Callable[[], bool]) -> float:
    """Seconds left for a call to ``proc``; raises :class:`ExifToolFailed` when the service is
    stopping or the deadline has passed."""
    if stopping():
        raise ExifToolFailed("tool_stopped", "exiftool call abandoned: the service is stopping")
    left = deadline - time.monotonic()
    if left <= 0:
        raise ExifToolFailed("tool_timeout", f"exiftool gave no answer within {timeout_s:.0f}s "
                                             f"(pid {proc.pid}, killed)")
    return left


def _line_in(data: bytes, end: bytes) -> int:
    """Offset just past ``end`` where it ends a line of ``data`` (0: not there yet)."""
    at = data.find(end)
    while at >= 0:
        after = at + len(end)
        if (at == 0 or data[at - 1:at] in b"\r\n") and (after == len(data) or data[after:after + 1] in b"\r\n"):
            return after
        at = data.find(end, after)
    return 0


def exchange(proc: subprocess.Popen, payload: bytes, ready: bytes, post: bytes, timeout_s: float,
             stopping: Callable[[], bool]) -> tuple[bytes, bytes]:
    """Write ``payload`` and read stdout up to ``ready`` and stderr up to ``post``, within
    ``timeout_s`` and only while not ``stopping``; raises :class:`ExifToolFailed`."""
    assert proc.stdin and proc.stdout and proc.stderr
    fin, fout, ferr = proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
    os.set_blocking(fin, False)
    deadline = time.monotonic() + timeout_s
    out: list[bytes] = []
    err: list[bytes] = []
    tail = {fout: b"", ferr: b""}
    done = {fout: False, ferr: False}
    ends = {fout: ready, ferr: post}
    while not (done[fout] and done[ferr]):
        left = _time_left(proc, deadline, timeout_s, stopping)
        readers = [fd for fd in (fout, ferr) if not done[fd]]
        writers = [fin] if payload else []
        r, w, _ = select.select(readers, writers, [], min(left, 0.25))
        if w:
            try:
                n = os.write(fin, payload)
            except BrokenPipeError:
                raise ExifToolFailed("tool_died", f"exiftool (pid {proc.pid}) died") from None
            payload = payload[n:]
        for fd in r:
            chunk = os.read(fd, 65536)
            if not chunk:  # end of file: the process is gone
                raise ExifToolFailed("tool_died", f"exiftool (pid {proc.pid}) died "
                                                  f"(exit status {proc.poll()})")
            (out if fd == fout else err).append(chunk)
            tail[fd] = (tail[fd] + chunk)[-64:]
            done[fd] = tail[fd].rstrip().endswith(ends[fd])
    return b"".join(out), b"".join(err)
