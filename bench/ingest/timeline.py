"""One ``photo-factory librarian --once`` run, phase by phase: ``python bench/ingest/timeline.py OUT``.

Runs the real CLI in this process (same environment, same prelude) with a few functions wrapped
to note when they start and end: wall seconds since the process started (the kernel's start
time, so the interpreter's own start-up counts) and this process' CPU seconds (user+sys). At the
end it writes JSON to OUT: the marks, the time the filing thread spent in each durable step, and
the CPU of this process and of the children it waited for (ExifTool), from an exit handler (a
finished run skips the interpreter's teardown, photo_factory/cli.py). run.py prints it.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time

_T0 = time.time()


def _process_start() -> float:
    with open("/proc/self/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return _T0 - uptime + ticks / os.sysconf("SC_CLK_TCK")


START = _process_start()
MARKS: list[tuple[float, float, str]] = []
TOTALS: dict[str, list[float]] = {}


def mark(what: str) -> None:
    t = os.times()
    MARKS.append((time.time() - START, t.user + t.system, what))


def around(owner: object, name: str, label: str | None = None) -> None:
    """Note the start and end of every call of ``owner.name``."""
    f = getattr(owner, name)

    def wrapped(*args: object, **kwargs: object) -> object:
        mark(f"> {label or name}")
        try:
            return f(*args, **kwargs)
        finally:
            mark(f"< {label or name}")

    setattr(owner, name, wrapped)


def summed(owner: object, name: str) -> None:
    """Add up the wall time of every call of ``owner.name``."""
    f = getattr(owner, name, None)
    if f is None:
        return

    def wrapped(*args: object, **kwargs: object) -> object:
        t = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            total = TOTALS.setdefault(name, [0, 0.0])
            total[0] += 1
            total[1] += time.perf_counter() - t

    setattr(owner, name, wrapped)


def _wrap_service() -> None:
    import librarian.service as service
    from librarian import ingest, organize, store
    from photo_factory import commands, heartbeat

    around(commands, "core_settings", "settings")
    around(heartbeat.HeartbeatService, "start", "heartbeat start")
    around(service.Librarian, "start", "inbox scan")
    around(store.LibrarianStore, "acquire_lock", "DB connect + lock")
    around(ingest.Ingestor, "reconcile", "journal replay")
    around(ingest.Ingestor, "reconcile_library", "library check")
    around(ingest.Ingestor, "ingest_batch", "batch")
    around(service.Librarian, "close", "close")
    around(heartbeat.HeartbeatService, "stop", "last beat")
    for owner, name in ((ingest.Ingestor, "_file_planned"), (ingest.Ingestor, "_ingest_one"),
                        (store.LibrarianStore, "journal_add_many"), (store.LibrarianStore, "record_assets"),
                        (organize, "fsync_dirs"), (store.LibrarianStore, "find_by_shas")):
        summed(owner, name)


def main(out: str) -> None:
    mark("interpreter up")
    import librarian.early as early

    around(early, "prestart_from_env", "prelude (ExifTool started)")
    import photo_factory.cli as cli

    resolve = cli.LazyGroup.get_command

    def get_command(self: cli.LazyGroup, ctx: object, name: str) -> object:
        mark("> imports")
        command = resolve(self, ctx, name)  # type: ignore[arg-type]
        mark("< imports")
        _wrap_service()
        return command

    cli.LazyGroup.get_command = get_command  # type: ignore[method-assign,assignment]

    def write() -> None:  # an exit handler: a finished run ends without the teardown (cli.py)
        mark("exit handlers")
        t = os.times()
        with open(out, "w") as f:
            json.dump({"marks": MARKS, "totals": TOTALS, "cpu_self": t.user + t.system,
                       "cpu_children": t.children_user + t.children_system}, f)

    atexit.register(write)
    sys.argv = ["photo-factory", "librarian", "--once"]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1])
