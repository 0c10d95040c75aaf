"""The heartbeat's local copy, for the container health check (``docker/healthcheck.sh``).

After every heartbeat the database accepted, a long-running process writes one line to
``$PF_HEALTH_DIR/<service>`` (default ``<tmp>/photo-factory-health``): status, interval, time of the
beat, message, tab-separated. The Docker health check reads it with a few shell built-ins
instead of starting Python (``photo-factory healthcheck`` costs ~0.5 CPU-s per run: seven
services every 30 s took a tenth of a 2-core box, and on a saturated box checks overran their
timeout). It judges exactly what the database holds for this process — the line is written
only after the beat was committed, so a database that is gone leaves it to age and the check
fails — but never needs a connection. ``photo-factory healthcheck`` stays the thorough check.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from pathlib import Path

from photo_factory import files

log = logging.getLogger(__name__)
_failed_once: set[str] = set()


def directory() -> Path:
    return Path(os.environ.get("PF_HEALTH_DIR") or Path(tempfile.gettempdir()) / "photo-factory-health")


def write(service: str, status: str, interval: float, message: str, now: float | None = None) -> None:
    """Replace the service's line atomically; a failure is logged once and never raised."""
    folder = directory()
    line = "\t".join((status, str(math.ceil(interval)), str(int(now if now is not None else time.time())),
                      " ".join(message.split())[:300]))
    try:
        files.write_atomically(folder / service, (line + "\n").encode())
    except OSError as exc:
        if service not in _failed_once:
            _failed_once.add(service)
            log.warning("cannot write the health file for %s in %s (%s): the container check will fail",
                        service, folder, exc.strerror)
