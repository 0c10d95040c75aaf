"""The thumbnail service's store: its own SQL (``queries.sql``) and the engine's failed-item view."""

from __future__ import annotations

from pathlib import Path

from photo_factory import db
from photo_factory.stage_store import StageStore
from photo_factory.worker import Stage

_QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))


class ThumbnailStore:
    def __init__(self, database_url: str, stage: Stage):
        self.db = db.Database(database_url, "thumbnails", _QUERIES)
        self.jobs = StageStore(self.db, stage, "thumbnails-cli")

    def close(self) -> None:
        self.db.close()

    def request_rebuild(self) -> int:
        """Mark every thumbnailed asset pending again; return how many."""
        return self.db.execute("request_rebuild")

    def record_motion(self, asset_id: int, motion_video: str | None, entry: dict | None) -> None:
        """Link (or unlink) a motion photo's extracted video; ``entry`` is the ``PF:MotionPhoto``
        metadata entry (None removes it: not a motion photo)."""
        self.db.execute("record_motion", {"id": asset_id, "motion_video": motion_video,
                                          "entry": None if entry is None else db.json(entry)})

    def retry_failed(self, asset_ids: list[int] | None = None) -> int:
        """Failed thumbnail items back to pending (all, or ``asset_ids``); return how many."""
        return self.jobs.reset_failed(asset_ids)

    def failed(self, limit: int = 100) -> list[dict]:
        """Failed items, newest first: asset_id, library_path, reason_code, last_error, attempts."""
        return self.jobs.list_failed(limit)
