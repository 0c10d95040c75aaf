"""LISTEN/NOTIFY wake-ups: a background thread that sets an event when a channel is notified.

NOTIFY is only a hint to wake early (polling stays the guarantee), so a broken listening connection
is reopened with backoff and never stops the service.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Iterable

from psycopg2 import sql

from photo_factory import db

log = logging.getLogger(__name__)


class Listener:
    """``LISTEN`` on ``channels`` with its own autocommit connection; ``wake.set()`` on each NOTIFY."""

    def __init__(self, database_url: str, application_name: str, channels: Iterable[str],
                 wake: threading.Event, stop: threading.Event):
        self.url = database_url
        self.application_name = application_name
        self.channels = list(channels)
        self.wake = wake
        self.stop = stop
        self.received = 0
        self.listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Listener:
        self._thread = threading.Thread(target=self._run, name=f"listen-{self.application_name}",
                                        daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                self._listen()
                delay = 1.0
            except db.UNAVAILABLE as exc:
                self.listening.clear()
                log.warning("LISTEN connection lost (%s); polling only, reconnecting in %.0fs",
                            str(exc).strip(), delay)
                self.stop.wait(delay)
                delay = min(delay * 2, 60.0)
            except Exception:  # never let the wake-up thread die
                self.listening.clear()
                log.exception("LISTEN thread error")
                self.stop.wait(delay)

    def _listen(self) -> None:
        conn = db.connect(self.url, self.application_name, autocommit=True)
        try:
            with conn.cursor() as cur:
                for channel in self.channels:
                    cur.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.listening.set()
            self.wake.set()  # anything notified while we were not listening: look now
            while not self.stop.is_set():
                if select.select([conn], [], [], 1.0)[0]:
                    conn.poll()
                    if conn.notifies:
                        self.received += len(conn.notifies)
                        conn.notifies.clear()
                        self.wake.set()
        finally:
            conn.close()
