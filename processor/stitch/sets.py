"""A panorama chosen by hand, recorded in the caller's transaction.

The stitcher (``photo-factory stitch --set``) and the dashboard's Panoramas page both record one;
this module imports nothing but the database layer, so the dashboard need not load OpenCV.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from photo_factory import db

log = logging.getLogger(__name__)

QUERIES = db.load_queries(Path(__file__).with_name("sets_queries.sql"))


def manual_key(asset_ids: list[int]) -> str:
    """One key per choice of images, whatever their order."""
    return "manual:" + ",".join(str(i) for i in sorted(asset_ids))


def record_manual(cur: Any, asset_ids: list[int]) -> dict:
    """Record the chosen images (in this order) as a set to stitch: ``id, status, new``. Asked again,
    a rejected or failed set becomes pending again; any other is left as it is (``new`` false)."""
    key = manual_key(asset_ids)
    cur.execute(QUERIES["insert_manual_panorama"], {"set_key": key, "source_count": len(asset_ids)})
    row = cur.fetchone()
    if row is None:
        cur.execute(QUERIES["panorama_by_key"], {"set_key": key})
        return {**cur.fetchone(), "new": False}
    cur.execute(QUERIES["delete_sources"], {"panorama_id": row["id"]})
    for position, asset_id in enumerate(asset_ids):
        cur.execute(QUERIES["insert_source"], {"panorama_id": row["id"], "asset_id": asset_id, "position": position})
    log.info("panorama %s: manual set of %d (assets %s)", row["id"], len(asset_ids), key[7:])
    return {**row, "new": True}
