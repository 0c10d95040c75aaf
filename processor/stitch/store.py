"""The stitch service's database access: the only code that runs its SQL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photo_factory import db
from processor.stitch import sets
from processor.stitch.panorama import Detection, Shot, pano_folder, window

log = logging.getLogger(__name__)

QUERIES = db.merge_queries(db.load_queries(Path(__file__).with_name("queries.sql")), sets.QUERIES)


@dataclass(frozen=True)
class Output:
    """A stitched panorama written to storage, to be registered as an image asset."""

    panorama_id: int
    library_path: str
    sha256: str
    size_bytes: int
    width: int
    height: int


class StitchStore:
    def __init__(self, database_url: str, application_name: str = "stitch"):
        self.db = db.Database(database_url, application_name, QUERIES)
        #: The last scan read a full window: more unscanned shots wait for the next round.
        self.more = False

    def close(self) -> None:
        self.db.close()

    def scan(self, detect: Callable[[list[Shot]], Detection], settle_s: float, *, limit: int | None = None,
             max_gap_s: float = 0.0) -> int | None:
        """Record the sets ``detect`` finds among unscanned images; mark the shots it is done with.

        Shots ingested less than ``settle_s`` seconds ago are passed as not settled.
        Runs in one transaction under an advisory lock, so replicas never record a set twice.
        With ``limit``, one round reads at most about ``limit`` shots (a million-image import is
        scanned window by window, in bounded memory and time); ``more`` then says whether shots
        were left for the next round. Returns the number of new sets, or None when another
        replica is scanning.
        """
        self.more = False
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("try_scan_lock"))
            if not cur.fetchone()["locked"]:
                return None
            cur.execute(self.db.sql("unscanned_shots"), {"settle_s": float(settle_s),
                                                         "limit": None if limit is None else limit + 1})
            shots = [Shot(**row) for row in cur.fetchall()]
            full = limit is not None and len(shots) > limit
            if limit is not None and full:
                shots = self._with_whole_folders(cur, window(shots, limit, max_gap_s), settle_s)
            found = detect(shots)
            created = 0
            for shot_set in found.sets:
                cur.execute(self.db.sql("insert_panorama"), {
                    "set_key": shot_set.key, "detection": shot_set.detection,
                    "source_count": len(shot_set.shots)})
                row = cur.fetchone()
                if row is None:
                    continue
                created += 1
                for position, shot in enumerate(shot_set.shots):
                    cur.execute(self.db.sql("insert_source"), {
                        "panorama_id": row["id"], "asset_id": shot.id, "position": position})
                log.info("panorama %s: %s set of %d (assets %s)", row["id"], shot_set.detection,
                         len(shot_set.shots), shot_set.key)
            if found.scanned_ids:
                cur.execute(self.db.sql("mark_scanned"), {"ids": found.scanned_ids})
            # another round at once only if this one got somewhere (a window of shots that are
            # all still settling waits for the next poll, not a busy loop)
            self.more = full and bool(found.scanned_ids)
            return created

    def _with_whole_folders(self, cur: Any, shots: list[Shot], settle_s: float) -> list[Shot]:
        """``shots`` plus every other unscanned shot of the pano… folders among them."""
        have = {s.id for s in shots}
        out = list(shots)
        for folder in sorted({f for f in (pano_folder(s.source_path) for s in shots) if f}):
            prefix = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
            cur.execute(self.db.sql("unscanned_in_folder"), {"settle_s": float(settle_s), "prefix": prefix})
            for row in cur.fetchall():
                shot = Shot(**row)
                if shot.id not in have and pano_folder(shot.source_path) == folder:
                    have.add(shot.id)
                    out.append(shot)
        return out

    def settling(self, settle_s: float) -> tuple[int, float]:
        """(images still settling, seconds until the last of them has settled)."""
        row = self.db.fetchone("settling", {"settle_s": float(settle_s)}) or {"n": 0, "wait_s": 0}
        return int(row["n"]), float(row["wait_s"] or 0)

    def assets_for(self, paths: list[str]) -> list[dict]:
        """Image assets at these storage-relative paths (a path ending in ``/`` is a folder)."""
        files = [p for p in paths if not p.endswith("/")]
        prefixes = [p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                    for p in paths if p.endswith("/")]
        return self.db.fetchall("assets_by_path", {"paths": files, "prefixes": prefixes})

    def record_manual(self, asset_ids: list[int]) -> dict:
        """Record a set of chosen assets (in the given order) to stitch; returns id, status, new."""
        with self.db.transaction() as cur:
            return sets.record_manual(cur, asset_ids)

    def claim(self, worker: str, claim_timeout_s: float) -> dict | None:
        """Claim the next set to stitch (status becomes 'stitching'), or None."""
        return self.db.fetchone("claim_panorama", {"worker": worker, "claim_timeout_s": claim_timeout_s})

    def sources(self, panorama_id: int) -> list[dict]:
        """The set's source assets, in shooting order."""
        return self.db.fetchall("panorama_sources", {"panorama_id": panorama_id})

    def finish_unstitched(self, panorama_id: int, status: str, reason: str, detail: str) -> None:
        """Final outcome without a panorama: 'rejected' (not one) or 'failed' (would not stitch)."""
        self.db.execute("finish_unstitched", {"panorama_id": panorama_id, "status": status,
                                              "reason": reason, "detail": detail[:2000]})

    def retry_later(self, panorama_id: int, detail: str, delay_s: float) -> None:
        self.db.execute("retry_later", {"panorama_id": panorama_id, "detail": detail[:2000],
                                        "delay_s": delay_s})

    def finish_done(self, out: Output, first: dict, source_ids: list[int], details: dict | None = None) -> int:
        """Register the panorama as an image asset (dated like its first shot) and mark the set done.

        Returns the new asset's id; NOTIFY ``pf_new_asset`` wakes the thumbnailer.
        """
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("insert_derived_asset"), {
                "sha256": out.sha256, "library_path": out.library_path,
                "original_name": Path(out.library_path).name, "size_bytes": out.size_bytes,
                "captured_at": first["captured_at"], "captured_local": first["captured_local"],
                "capture_date": first["capture_date"], "utc_offset_min": first["utc_offset_min"],
                "tz_source": first["tz_source"], "camera_make": first["camera_make"],
                "camera_model": first["camera_model"], "width": out.width, "height": out.height,
                "location": db.json(first["location"]) if first["location"] else None,
                "metadata": db.json({"derived_from_panorama": out.panorama_id,
                                     "panorama_sources": source_ids, **(details or {})}),
            })
            asset_id = cur.fetchone()["id"]
            cur.execute(self.db.sql("finish_done"), {
                "panorama_id": out.panorama_id, "output_path": out.library_path,
                "asset_id": asset_id, "width": out.width, "height": out.height})
            cur.execute(self.db.sql("notify_new_asset"), {"asset_id": asset_id})
        return asset_id

    def counts(self) -> dict[str, int]:
        return {row["status"]: int(row["n"]) for row in self.db.fetchall("panorama_counts")}
