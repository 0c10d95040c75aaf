"""The dead-man's ping (``PF_HEALTHCHECK_PING_URL``, healthchecks.io / Uptime Kuma style).

Each monitor round pings the URL while everything is fine and the fail URL (``<url>/fail`` by
default) when not, so a dead monitor or a dead host is noticed from outside. A ping runs in its
own thread with a deadline: a URL that hangs never blocks the monitor; while one is still in
flight the next is skipped (and logged once).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import requests

log = logging.getLogger(__name__)


@dataclass
class Pinger:
    url: str
    fail_url: str = ""
    timeout_s: float = 10.0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.url and not self.fail_url:
            self.fail_url = self.url.rstrip("/") + "/fail"

    def ping(self, ok: bool) -> bool:
        """Start one ping (returns at once); False when skipped (none configured, or one in flight)."""
        if not self.url:
            return False
        if self._thread is not None and self._thread.is_alive():
            self.skipped += 1
            if self.skipped == 1:
                log.warning("dead-man's ping still in flight (URL hangs?); skipping this one")
            return False
        self._thread = threading.Thread(target=self._send, args=(self.url if ok else self.fail_url,),
                                        name="deadman-ping", daemon=True)
        self._thread.start()
        return True

    def _send(self, url: str) -> None:
        try:
            resp = requests.get(url, timeout=(self.timeout_s, self.timeout_s))  # GET: every push service takes it
            resp.raise_for_status()
            self.sent += 1
            self.skipped = 0
        except requests.RequestException as exc:
            self.failed += 1
            log.warning("dead-man's ping failed: %s", type(exc).__name__)

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
