"""The queries of ``photo-factory assets``: every asset, streamed through a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("assets_queries.sql"))
#: Rows fetched per round trip: memory stays flat whatever the size of the library.
BATCH = 2000


class AssetsStore:
    def __init__(self, database_url: str):
        self.database_url = database_url

    def stream(self, since: date | None = None, group_kind: str | None = None) -> Iterator[dict[str, Any]]:
        """Every asset (id order) as a dict; a named cursor holds at most :data:`BATCH` rows."""
        conn = db.connect(self.database_url, "assets")
        try:
            conn.set_session(readonly=True)
            with conn.cursor() as setup:  # JIT compiling a million-row plan delays the first line by seconds
                setup.execute(QUERIES["no_jit"])
            with conn.cursor(name="pf_assets") as cur:
                cur.itersize = BATCH
                cur.execute(QUERIES["stream_assets"], {"since": since, "kind": group_kind})
                names: list[str] | None = None
                for row in cur:
                    if names is None:
                        names = [c.name for c in cur.description]
                    yield dict(zip(names, row, strict=True))
        finally:
            conn.close()
