"""External tools (ffmpeg, ExifTool, rclone, pg_dump…) run with a deadline, death detection and
a typed failure — never a hang, never a file name read as an option.

:func:`run` is the one way a one-shot tool is started: a new session (its whole process group is
killed on timeout or stop), stdin closed, output captured, and :class:`ToolError` with a reason
code (``tool_timeout``, ``tool_missing``, ``tool_stopped``, …) instead of a blocked worker.
:func:`input_path` turns a file into an argument no tool can mistake for an option or a protocol.
A service's stop event (SIGTERM) aborts a running tool at once: :func:`set_stop_event`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

#: Reason codes of :class:`ToolError` (stage workers use them as item reason codes).
REASONS = ("tool_timeout", "tool_died", "tool_missing", "tool_stopped", "tool_failed")

_stop = threading.Event()  # replaced by the service's own stop event (set_stop_event)
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


class ToolError(Exception):
    """A tool did not finish: ``reason`` is one of :data:`REASONS`, ``detail`` says what and why."""

    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def set_stop_event(event: threading.Event) -> None:
    """Abort running tools (and refuse new ones) once ``event`` is set (the service's SIGTERM)."""
    global _stop
    _stop = event


def stop_event() -> threading.Event:
    return _stop


def input_path(path: Path | str, *, protocol: bool = False) -> str:
    """``path`` as a tool argument: absolute, so it never starts with ``-`` (an option) and never
    looks like ``name:`` (an ffmpeg protocol or an rclone remote). ``protocol``: ffmpeg's explicit
    ``file:`` prefix as well (ffmpeg then reads any name, ``:`` and ``|`` included, as a file)."""
    text = os.path.abspath(os.fspath(path))
    return f"file:{text}" if protocol else text


def _register(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.add(proc)


def _unregister(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.discard(proc)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the tool's process group (it was started in its own session) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def kill_all() -> int:
    """Kill every tool this process is running (the hard stop); returns how many."""
    with _children_lock:
        procs = list(_children)
    for p in procs:
        kill(p)
    return len(procs)


def spawn(argv: Sequence[str | bytes], **kwargs: object) -> subprocess.Popen:
    """Popen in a new session, registered for :func:`kill_all` (long-lived tools use this)."""
    try:
        proc = subprocess.Popen(list(argv), start_new_session=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise ToolError("tool_missing", f"{os.fsdecode(argv[0])} is not installed") from exc
    _register(proc)
    return proc


def forget(proc: subprocess.Popen) -> None:
    """A spawned tool has ended (or was killed): stop tracking it."""
    _unregister(proc)


def feed(pipe: BinaryIO, data: bytes) -> None:
    """Write ``data`` to a tool's stdin and close it (run in a thread of its own: a tool reads a
    long input as it goes, and the caller keeps its deadline). A tool that ends without reading
    it all (killed, failed) is its exit status's to explain."""
    try:
        pipe.write(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def run(argv: Sequence[str], *, timeout: float, what: str | None = None, text: bool = False,
        env: dict[str, str] | None = None, stop: threading.Event | None = None,
        poll: float = 0.25, input: str | bytes | None = None) -> subprocess.CompletedProcess:
    """Run a one-shot tool to its end, at most ``timeout`` seconds; stdout and stderr captured.
    ``input`` is written to its stdin (then closed; otherwise stdin is empty).

    The exit status is the caller's to judge; a tool that overruns, or a stop request (SIGTERM),
    kills its whole process group and raises :class:`ToolError`.
    """
    name = what or os.path.basename(argv[0])
    stop = stop or _stop
    if stop.is_set():
        raise ToolError("tool_stopped", f"{name} not started: the service is stopping")
    # The input goes through a pipe of our own, written by a thread: communicate() cannot take
    # it, as a communicate() retried after its poll timeout never writes the rest (CPython 3.11).
    reader, writer = os.pipe() if input is not None else (subprocess.DEVNULL, -1)
    try:
        proc = spawn(argv, stdin=reader, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text, env=env)
    except BaseException:
        if input is not None:
            os.close(writer)
        raise
    finally:
        if input is not None:
            os.close(reader)
    if input is not None:
        data = input.encode() if isinstance(input, str) else input
        threading.Thread(target=feed, args=(os.fdopen(writer, "wb"), data), name=f"{name}-input", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=max(0.0, min(poll, deadline - time.monotonic())))
                return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
            except subprocess.TimeoutExpired:
                pass
            if stop.is_set():
                kill(proc)
                raise ToolError("tool_stopped", f"{name} killed: the service is stopping")
            if time.monotonic() >= deadline:
                kill(proc)
                log.warning("%s killed after %.0fs without finishing", name, timeout)
                raise ToolError("tool_timeout", f"{name} did not finish within {timeout:.0f}s (killed)")
    finally:
        if proc.poll() is None:  # an exception of our own (KeyboardInterrupt, SystemExit)
            kill(proc)
        _unregister(proc)
