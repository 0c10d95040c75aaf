"""ExifTool started first thing, before Python imports the librarian.

ExifTool is Perl: compiling it takes ~0.13 CPU-seconds, and a ``--once`` run used to pay that in
series when its first batch arrived. :func:`prestart_from_env` (the CLI's prelude for
``photo-factory librarian``, see ``photo_factory/cli.py``) starts one process at once, so Perl
compiles on the other core while Python imports the rest (~0.4 s); the metadata reader adopts it
(:func:`take`) when its command line is the one the settings ask for, else it is killed at close.

Imports only the standard library's light modules: it runs before anything else is imported.
An orphan cannot outlive the service: ExifTool exits at the end of its standard input, which the
kernel closes when this process ends, however it ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

#: What the librarian asks ExifTool for every file (``-common_args``): groups, numbers, JSON,
#: no scan for trailers, and videos over 2 GB (4K phone clips) read whole.
COMMON_ARGS = ("-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1")
#: Started ahead: one is enough to take the start off the first batch (a second reader thread
#: starts its own process while the first reads the first chunk); more would only compete with
#: the imports for the cores.
AHEAD = 1

_lock = threading.Lock()
_spares: list[tuple[tuple[str, ...], subprocess.Popen]] = []


def argv(executable: str, common_args: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The command line PyExifTool starts (its ``run``), for an already resolved executable."""
    return (executable, "-stay_open", "True", "-@", "-", "-common_args", *common_args)


def prestart_from_env() -> None:
    """Start :data:`AHEAD` ExifTool processes with the executable the environment names
    (``PF_EXIFTOOL_PATH``, default ``exiftool``); nothing when it is not installed."""
    if os.environ.get("PF_EXIFTOOL_PROCESSES", "").strip() == "0":
        return
    found = shutil.which(os.environ.get("PF_EXIFTOOL_PATH", "exiftool"))
    if found is None:
        return
    prestart(argv(found, COMMON_ARGS), AHEAD)


def prestart(command: tuple[str, ...], n: int) -> None:
    for _ in range(n):
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError:
            return  # the reader starts its own and reports what is wrong
        with _lock:
            _spares.append((command, proc))


def take(command: tuple[str, ...]) -> subprocess.Popen | None:
    """A process started ahead with exactly this command line and still running, or None."""
    with _lock:
        for i, (cmd, proc) in enumerate(_spares):
            if cmd == command and proc.poll() is None:
                del _spares[i]
                return proc
    return None


def discard() -> None:
    """Kill the processes started ahead that nobody adopted."""
    with _lock:
        procs = [proc for _, proc in _spares]
        _spares.clear()
    for proc in procs:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
