"""The sidecar queries of the librarian (``sidecar_queries.sql``), on the librarian's connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("sidecar_queries.sql"))


def like_prefix(text: str) -> str:
    """``text`` as a LIKE prefix pattern (its ``%``, ``_`` and ``\\`` taken literally)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SidecarStore:
    def __init__(self, database: db.Database):
        self.db = database

    def _all(self, name: str, params: dict[str, Any]) -> list[dict]:
        with self.db.transaction() as cur:
            cur.execute(QUERIES[name], params)
            return list(cur.fetchall())

    def photos_by_prefix(self, prefix: str) -> list[dict]:
        return self._all("photos_by_prefix", {"prefix": like_prefix(prefix)})

    def takeout_json_of_photo(self, source_path: str) -> str | None:
        """Library path of the Takeout JSON filed with the photo from ``source_path``, if any."""
        rows = self._all("takeout_json_of_photo", {"path": source_path})
        return str(rows[0]["library_path"]) if rows else None

    def orphans_by_prefix(self, prefix: str) -> list[dict]:
        return self._all("orphans_by_prefix", {"prefix": like_prefix(prefix)})

    def orphans_exist(self) -> bool:
        rows = self._all("orphans_exist", {})
        return bool(rows and rows[0]["any"])

    def quarantined_by_prefix(self, prefix: str) -> list[dict]:
        return self._all("quarantined_by_prefix", {"prefix": like_prefix(prefix)})

    def albums_by_prefix(self, prefix: str) -> list[dict]:
        return self._all("albums_by_prefix", {"prefix": like_prefix(prefix)})

    def sidecars_of(self, asset_id: int) -> list[dict]:
        return self._all("sidecars_of", {"asset_id": asset_id})

    def path_taken(self, rel: str) -> bool:
        rows = self._all("sidecar_path_taken", {"path": rel})
        return bool(rows and rows[0]["taken"])

    def all_paths(self) -> set[str]:
        return {r["library_path"] for r in self._all("all_sidecar_paths", {})}

    def assets_in_folder(self, folder: str) -> list[dict]:
        base = like_prefix(folder.rstrip("/") + "/")
        return self._all("asset_in_folder", {"folder": base, "deeper": base[:-1] + "%/%"})

    def record(self, row: dict[str, Any], journal_id: int | None, quarantine_id: int | None = None,
               event: str = "sidecar_attached") -> None:
        """Insert the sidecar row, its event, drop the quarantine row it replaces and the
        journal entry — one transaction."""
        params = dict(row)
        params["metadata"] = db.json(row.get("metadata") or {})
        with self.db.transaction() as cur:
            cur.execute(QUERIES["insert_sidecar"], params)
            cur.execute(QUERIES["add_event"], {
                "kind": event, "asset_id": row["asset_id"], "source_path": row.get("source_path"),
                "detail": db.json({"library_path": row["library_path"], "kind": row["kind"],
                                   "quarantine_id": quarantine_id})})
            if quarantine_id is not None:
                cur.execute(QUERIES["drop_quarantine"], {"id": quarantine_id})
            if journal_id is not None:
                cur.execute(QUERIES["journal_delete"], {"id": journal_id})

    def duplicate_removed(self, asset_id: int, source_path: str | None, library_path: str,
                          quarantine_id: int | None = None) -> None:
        with self.db.transaction() as cur:
            cur.execute(QUERIES["add_event"], {
                "kind": "sidecar_duplicate_removed", "asset_id": asset_id, "source_path": source_path,
                "detail": db.json({"library_path": library_path, "quarantine_id": quarantine_id})})
            if quarantine_id is not None:
                cur.execute(QUERIES["drop_quarantine"], {"id": quarantine_id})

    def asset_capture(self, asset_id: int) -> dict | None:
        rows = self._all("asset_capture", {"id": asset_id})
        return rows[0] if rows else None

    def flag_date(self, asset_id: int, why: str) -> None:
        with self.db.transaction() as cur:
            cur.execute(QUERIES["flag_date"], {"id": asset_id, "why": why[:1000]})
