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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: What the librarian asks ExifTool for every file (``-common_args``): groups, numbers, JSON,
#: no scan for trailers, and videos over 2 GB (4K phone clips) read whole.
COMMON_ARGS = ("-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1")
#: Started ahead: one is enough to take the start off the first batch (a second reader thread
#: starts its own process while the first reads the first chunk); more would only compete with
#: the imports for the cores.
AHEAD = 1

#: JPEGs handed to the process started ahead: about what it reads while Python imports.
READ_AHEAD = 64
#: Inbox entries looked at for them at most (an inbox of other files is not walked to its end).
_LOOK_AT = 1024
_JPEG = (".jpg", ".jpeg", ".jpe")
_SEQ = 999_001  # the read-ahead call's sequence number (the reader's own are random 6-digit ones)

_lock = threading.Lock()
_spares: list[tuple[tuple[str, ...], subprocess.Popen]] = []
#: process -> (the files it was asked to read ahead, their identities before the read)
_pending: dict[subprocess.Popen, dict[bytes, tuple[int, ...]]] = {}
#: path -> (identity before the read, ExifTool's answer), until taken
_answers: dict[bytes, tuple[tuple[int, ...], dict[str, Any]]] = {}
#: files whose read-ahead answer an adopted process is being asked for right now: another reader
#: thread waits for it (:data:`_arrived`) instead of reading them a second time
_inflight: set[bytes] = set()
_arrived = threading.Event()
_arrived.set()
#: longest wait for an answer in flight (the adopting call has its own deadline, and always ends
#: with :func:`received`, even when it fails)
_WAIT_S = 120.0


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
    (the inbox walk: ignored names are skipped there); the answer waits in its pipe."""
    files: dict[bytes, tuple[int, ...]] = {}
    try:
        for path in itertools.islice(entries, _LOOK_AT):
            if path.suffix.lower() not in _JPEG:
                continue
            name = os.fsencode(path)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and safe_arg(name):
                files[name] = identity(st)
                if len(files) >= READ_AHEAD:
                    break
        if not files:
            return
        assert proc.stdin is not None and proc.stdout is not None
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # the whole answer fits
        proc.stdin.write(b"\n".join([b"-e", *files, b"-echo4", b"post%d" % _SEQ, b"-execute%d" % _SEQ]) + b"\n")
        proc.stdin.flush()
    except OSError:
        return  # e.g. no inbox yet, or a pipe size refused: the reader reads them later
    with _lock:
        _pending[proc] = files


def take(command: tuple[str, ...]) -> tuple[subprocess.Popen, int | None] | None:
    """A process started ahead with exactly this command line and still running, with the
    sequence number of the answer waiting in its pipe (None: nothing asked), or None."""
    with _lock:
        for i, (cmd, proc) in enumerate(_spares):
            if cmd == command and proc.poll() is None:
                del _spares[i]
                if proc not in _pending:
                    return proc, None
                _inflight.update(_pending[proc])
                _arrived.clear()
                return proc, _SEQ
    return None


def received(proc: subprocess.Popen, answer: bytes) -> None:
    """The read-ahead answer of ``proc`` (its JSON; empty when the call failed), kept per file
    until :func:`answer_for`. Releases the threads waiting for it."""
    try:
        data = json.loads(answer.decode("utf-8", errors="surrogateescape")) if answer.strip() else []
    except ValueError:
        data = []
    with _lock:
        files = _pending.pop(proc, {})
        for d in data if isinstance(data, list) else []:
            if not isinstance(d, dict):
                continue
            name = os.fsencode(os.path.normpath(d.get("SourceFile", "")))
            if name in files:
                _answers[name] = (files[name], d)
        _inflight.difference_update(files)
        _arrived.set()


def answer_for(path: Path) -> dict[str, Any] | None:
    """The read-ahead answer for ``path`` (once), if the file is still the one that was read."""
    name = os.fsencode(path)
    with _lock:
        wait = name in _inflight
    if wait:
        _arrived.wait(_WAIT_S)
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
    with _lock:
        procs = [proc for _, proc in _spares]
        _spares.clear()
        _pending.clear()
        _answers.clear()
        _inflight.clear()
        _arrived.set()
    for proc in procs:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
