"""ExifTool started first thing, before Python imports the librarian, and already reading.

ExifTool is Perl: compiling it takes ~0.13 CPU-seconds, and a ``--once`` run used to pay that in
series when its first batch arrived. :func:`prestart_from_env` (the CLI's prelude for
``photo-factory librarian``, see ``photo_factory/cli.py``) starts one process at once, so Perl
compiles on the other core while Python imports the rest (~0.4 s); the metadata reader adopts it
(:func:`take`) when its command line is the one the settings ask for, else it is killed at close.

It also hands that process the first JPEGs of the inbox (:data:`READ_AHEAD`), which it reads
while Python is still importing. An answer is used only for the very file it was read from: the
file's identity (device, inode, size, mtime, ctime) noted before the read must be its identity
when the answer is taken (:func:`answer_for`); any change (a write, a rename, a new file under
the name) and the file is simply read again. Nothing is moved, opened for writing or decided here.

Imports only the standard library's light modules: it runs before anything else is imported.
An orphan cannot outlive the service: in ``-stay_open`` mode ExifTool does NOT exit at the end of
its standard input (it waits for more, polling, forever), so the process is started with the
kernel's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, as PyExifTool does for the
processes it starts): when this process ends, however it ends (``kill -9`` too), it is terminated.
The prelude runs in the main thread before any other thread exists, so the signal is tied to the
thread that lives as long as the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import itertools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: What the librarian asks ExifTool for every file (``-common_args``): groups, numbers, JSON,
#: no scan for trailers, and videos over 2 GB (4K phone clips) read whole.
COMMON_ARGS = ("-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1")
#: Started ahead: one. A reader thread whose files were all read ahead starts no ExifTool of its
#: own; the others start theirs when they have files nobody read (a second Perl start costs
#: ~0.15 CPU-seconds, what ~50 camera JPEGs cost to read).
AHEAD = 1

#: JPEGs handed to the process started ahead: what it reads while Python imports, and what one
#: ExifTool reads before a second one is worth starting (a burst of up to this many is read by
#: one process; a bigger one gets the configured number for the rest).
READ_AHEAD = 128
#: ... in calls of this many: the first answers are taken while it reads the next.
GROUP = 16
#: Bytes of names written to its standard input at once: less than a pipe holds, so the write
#: never blocks the start-up.
_MAX_ARGS_BYTES = 60_000
#: Inbox entries looked at for them at most (an inbox of other files is not walked to its end).
_LOOK_AT = 1024
_JPEG = (".jpg", ".jpeg", ".jpe")
_SEQ = 999_001  # the first read-ahead call's sequence number (the reader's own are random 6-digit ones)

_lock = threading.Lock()
#: signalled whenever a read-ahead answer arrived or was given up (:data:`_reading` cleared)
_cond = threading.Condition(_lock)
_spares: list[tuple[tuple[str, ...], subprocess.Popen]] = []
#: process -> the files it was asked to read ahead and whose answer was not taken from its pipe
#: yet (in flight), with their identities before the read
_pending: dict[subprocess.Popen, dict[bytes, tuple[int, ...]]] = {}
#: process -> its read-ahead calls not taken from its pipe yet, in order: (sequence number, files)
_calls: dict[subprocess.Popen, list[tuple[int, list[bytes]]]] = {}
#: path -> (identity before the read, ExifTool's answer), until taken
_answers: dict[bytes, tuple[tuple[int, ...], dict[str, Any]]] = {}
#: processes whose pipe a reader thread is taking an answer from right now (one at a time)
_reading: set[subprocess.Popen] = set()
#: Fetch = (process, sequence number, files of the call) -> the call's raw JSON answer, read from
#: its pipe with a deadline (raises when it fails: the process is then killed, and its files
#: are read again like any other).
Fetch = Callable[[subprocess.Popen, int, int], bytes]


def argv(executable: str, common_args: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The command line PyExifTool starts (its ``run``), for an already resolved executable."""
    return (executable, "-stay_open", "True", "-@", "-", "-common_args", *common_args)


def prestart_from_env() -> None:
    """Start :data:`AHEAD` ExifTool processes with the executable the environment names
    (``PF_EXIFTOOL_PATH``, default ``exiftool``) and give the first the inbox's first JPEGs
    (``PF_INBOX_DIR``); nothing when ExifTool is not installed or the inbox holds nothing (it
    then starts with the first file, as it always did)."""
    found = shutil.which(os.environ.get("PF_EXIFTOOL_PATH", "exiftool"))
    inbox = Path(os.environ.get("PF_INBOX_DIR", "var/inbox"))
    if found is None or not inbox.is_dir():
        return
    from librarian.inbox import walk  # light: the standard library only

    entries = walk(inbox.resolve())
    first = next(entries, None)
    if first is None:
        return
    procs = prestart(argv(found, COMMON_ARGS), AHEAD)
    if procs:
        read_ahead(procs[0], itertools.chain([first], entries))


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the thread that started it ends (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def prestart(command: tuple[str, ...], n: int) -> list[subprocess.Popen]:
    """Start ``n`` ExifTool processes (call from the main thread: see the module docstring)."""
    started = []
    guard = _die_with_parent if sys.platform.startswith("linux") else None
    for _ in range(n):
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, preexec_fn=guard)
        except OSError:
            break  # the reader starts its own and reports what is wrong
        started.append(proc)
        with _lock:
            _spares.append((command, proc))
    return started


def identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def safe_arg(path: bytes) -> bool:
    """Can ``path`` go to ExifTool as it is? Absolute (never an option, never ``#`` comment or
    leading white space, which ExifTool strips), valid UTF-8 (so ExifTool echoes it back exactly)
    and printable characters only (no line breaks, no control or format characters). Here, for
    the read ahead, and in stayopen (which gives any other name an alias)."""
    if not path.startswith(b"/"):
        return False
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def read_ahead(proc: subprocess.Popen, entries: Iterable[Path]) -> None:
    """Ask ``proc`` for the tags of the first :data:`READ_AHEAD` regular JPEGs of ``entries``
    (the inbox walk: ignored names are skipped there), in calls of :data:`GROUP` files; the
    answers wait in its pipe until a reader takes them (:func:`arrive`)."""
    files: dict[bytes, tuple[int, ...]] = {}
    size = 0
    try:
        for path in itertools.islice(entries, _LOOK_AT):
            if path.suffix.lower() not in _JPEG:
                continue
            name = os.fsencode(path)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and safe_arg(name):
                size += len(name) + 1
                if size > _MAX_ARGS_BYTES:
                    break
                files[name] = identity(st)
                if len(files) >= READ_AHEAD:
                    break
        if not files:
            return
        assert proc.stdin is not None and proc.stdout is not None
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # answers wait there
        names = list(files)
        calls = [(_SEQ + i, names[at:at + GROUP]) for i, at in enumerate(range(0, len(names), GROUP))]
        proc.stdin.write(b"".join(b"\n".join([b"-e", *group, b"-echo4", b"post%d" % seq, b"-execute%d" % seq]) + b"\n"
                                  for seq, group in calls))
        proc.stdin.flush()
    except OSError:
        return  # e.g. no inbox yet, or a pipe size refused: the reader reads them later
    with _lock:
        _pending[proc] = files
        _calls[proc] = calls


def take(command: tuple[str, ...]) -> subprocess.Popen | None:
    """A process started ahead with exactly this command line, still running and with every
    answer it read ahead taken from its pipe (it is idle), or None."""
    with _lock:
        for i, (cmd, proc) in enumerate(_spares):
            if cmd == command and proc.poll() is None and not _calls.get(proc) and proc not in _reading:
                del _spares[i]
                _calls.pop(proc, None)
                _pending.pop(proc, None)
                return proc
    return None


def arrive(path: Path, fetch: Fetch) -> None:
    """Make sure the read-ahead answer for ``path``, if one is on its way, has arrived: take the
    answers from the pipe up to its call (with ``fetch``), or wait while another thread does.
    An answer that cannot be had is given up (the process is killed) and ``fetch``'s error
    raised; the file is then simply read like any other."""
    name = os.fsencode(path)
    while True:
        with _cond:
            proc = next((p for p, files in _pending.items() if name in files), None)
            if proc is None:
                return
            if proc in _reading:
                _cond.wait(1.0)  # the reading thread's own deadline bounds this
                continue
            seq, group = _calls[proc][0]
            _reading.add(proc)
        try:
            received(proc, fetch(proc, seq, len(group)))
        except BaseException:
            _give_up(proc)
            raise
        finally:
            with _cond:
                _reading.discard(proc)
                _cond.notify_all()


def received(proc: subprocess.Popen, answer: bytes) -> None:
    """The answer of the next read-ahead call of ``proc`` (its JSON; empty when the call
    failed), kept per file until :func:`answer_for`."""
    try:
        data = json.loads(answer.decode("utf-8", errors="surrogateescape")) if answer.strip() else []
    except ValueError:
        data = []
    with _cond:
        calls = _calls.get(proc)
        if not calls:
            return
        _seq, group = calls.pop(0)
        pending = _pending.get(proc, {})
        asked = {name: pending.pop(name) for name in group if name in pending}
        for d in data if isinstance(data, list) else []:
            if not isinstance(d, dict):
                continue
            name = os.fsencode(os.path.normpath(d.get("SourceFile", "")))
            if name in asked:
                _answers[name] = (asked[name], d)
        _cond.notify_all()


def _give_up(proc: subprocess.Popen) -> None:
    """Kill a process started ahead whose answer cannot be had; its files are read again."""
    with _cond:
        _spares[:] = [(cmd, p) for cmd, p in _spares if p is not proc]
        _pending.pop(proc, None)
        _calls.pop(proc, None)
        _cond.notify_all()
    _end(proc)


def answer_for(path: Path) -> dict[str, Any] | None:
    """The read-ahead answer for ``path`` (once), if it arrived (:func:`arrive`) and the file is
    still the one that was read."""
    name = os.fsencode(path)
    with _lock:
        if not _answers:
            return None
        got = _answers.pop(name, None)
    if got is None:
        return None
    try:
        now = identity(os.lstat(path))
    except OSError:
        return None
    return got[1] if now == got[0] else None


def discard() -> None:
    """Kill the processes started ahead that nobody adopted."""
    with _cond:
        procs = [proc for _, proc in _spares]
        _spares.clear()
        _pending.clear()
        _calls.clear()
        _answers.clear()
        _cond.notify_all()
    for proc in procs:
        _end(proc)


def _end(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
