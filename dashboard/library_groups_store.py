"""SQL of the Library page's "files that belong together" panel (``library_groups.sql``), run on
the dashboard store's connection."""

from __future__ import annotations

from pathlib import Path

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("library_groups.sql"))


class GroupsStore:
    def __init__(self, database: db.Database):
        self.db = database

    def _all(self, name: str, limit: int | None = None) -> list[dict]:
        with self.db.transaction() as cur:
            cur.execute(QUERIES[name], {"limit": limit})
            return [dict(r) for r in cur.fetchall()]

    def counts(self) -> dict:
        """grouped, groups, sidecars, motion_videos, motion_problems."""
        return self._all("together_counts")[0]

    def recent(self, limit: int = 24) -> list[dict]:
        """Newest assets with a group, sidecars or an embedded video (or a problem with it)."""
        return self._all("together_recent", limit)

    def motion_videos(self, limit: int = 4) -> list[dict]:
        return self._all("motion_videos", limit)

    def motion_problems(self, limit: int = 50) -> list[dict]:
        return self._all("motion_problems", limit)

    def orphan_sidecars(self, limit: int = 100) -> list[dict]:
        return self._all("orphan_sidecars", limit)

    def dates_to_review(self, limit: int = 100) -> list[dict]:
        return self._all("dates_to_review", limit)
