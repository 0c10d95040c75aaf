"""``make run``'s process logs: each child's output goes to the terminal AND to
``<var>/logs/<service>.log`` (the dashboard's Service page reads it), kept under a size cap.

One daemon thread per child copies its combined stdout/stderr line by line; when the file passes
``max_bytes`` it is renamed to ``<service>.log.1`` (the one older file kept) and started anew.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import IO

MAX_BYTES = 10 * 1024 * 1024


def tee(stream: IO[bytes], service: str, folder: Path, max_bytes: int = MAX_BYTES) -> threading.Thread:
    """Copy ``stream`` to the terminal and to ``folder/<service>.log`` until it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{service}.log"

    def copy() -> None:
        out = path.open("ab")
        try:
            for line in iter(stream.readline, b""):
                sys.stdout.buffer.write(line)
                sys.stdout.buffer.flush()
                out.write(line)
                out.flush()
                if out.tell() > max_bytes:
                    out.close()
                    path.replace(path.with_name(path.name + ".1"))
                    out = path.open("ab")
        finally:
            out.close()
            stream.close()

    thread = threading.Thread(target=copy, name=f"log-{service}", daemon=True)
    thread.start()
    return thread
