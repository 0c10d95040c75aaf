"""The backup service's only door to the database (queries in ``queries.sql``)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))


@dataclass(frozen=True)
class Asset:
    id: int
    library_path: str
    sha256: str
    size_bytes: int
    attempts: int = 0


@dataclass(frozen=True)
class Companions:
    """What belongs to one photo: its sidecars, its extracted motion video and where in the
    original that video's bytes are (the ``PF:MotionPhoto`` entry: ``offset``, ``length``)."""

    asset_id: int
    sidecars: list[str]
    motion_video: str | None
    motion: dict | None


class BackupStore:
    def __init__(self, database_url: str, application_name: str = "backup"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    def pending_sidecars(self, limit: int) -> list[Asset]:
        """Sidecars not yet backed up (as :class:`Asset` items: the batch uploads any file)."""
        rows = self.db.fetchall("pending_sidecars", {"limit": limit})
        return [Asset(r["id"], r["library_path"], r["sha256"].strip(), r["size_bytes"]) for r in rows]

    def mark_sidecars_backed_up(self, ids: list[int]) -> None:
        if ids:
            self.db.execute("mark_sidecars_backed_up", {"ids": ids})

    # -- runs and dumps --------------------------------------------------------
    def start_run(self, remote: str) -> int:
        row = self.db.fetchone("start_run", {"host": socket.gethostname(), "remote": remote})
        assert row is not None
        return int(row["id"])

    def finish_run(
        self,
        run_id: int,
        *,
        files: int,
        bytes_: int,
        failed_files: int,
        result: str,
        reason: str | None = None,
        error: str | None = None,
        dump_name: str | None = None,
    ) -> None:
        self.db.execute(
            "finish_run",
            {
                "id": run_id,
                "files": files,
                "bytes": bytes_,
                "failed_files": failed_files,
                "result": result,
                "reason": reason,
                "error": (error or "")[-2000:] or None,
                "dump_name": dump_name,
            },
        )

    def record_dump(
        self, name: str, remote: str, created_at: datetime, size_bytes: int, sha256: str, run_id: int | None
    ) -> None:
        self.db.execute(
            "record_dump",
            {
                "name": name,
                "remote": remote,
                "created_at": created_at,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "run_id": run_id,
            },
        )

    def mark_dump_expired(self, name: str) -> None:
        self.db.execute("mark_dump_expired", {"name": name})

    def live_dump_names(self, remote: str) -> set[str]:
        return {r["name"] for r in self.db.fetchall("live_dump_names", {"remote": remote})}

    def last_dump_at(self, remote: str) -> datetime | None:
        row = self.db.fetchone("last_dump_at", {"remote": remote})
        return row["at"] if row else None

    def status(self) -> dict[str, Any]:
        return dict(self.db.fetchone("backup_status") or {})

    def count_assets(self) -> int:
        row = self.db.fetchone("count_assets")
        return int(row["n"]) if row else 0


#: Tables whose rows are the catalogue: a restore never replaces a database where one has rows.
#: (Heartbeats, backup runs, dumps, incidents… are what any running installation writes at once.)
CATALOGUE_TABLES = ("media_assets", "quarantine", "panoramas", "ingest_journal")


class RestoreStore:
    """Queries against a restore target (or the live database, for the drill's comparison)."""

    def __init__(self, database_url: str, application_name: str = "restore"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    def has_tables(self) -> bool:
        row = self.db.fetchone("has_tables")
        return bool(row and row["n"])

    def count_assets(self) -> int:
        row = self.db.fetchone("count_assets")
        return int(row["n"]) if row else 0

    def public_tables(self) -> list[str]:
        return [r["name"] for r in self.db.fetchall("public_tables")]

    def catalogue_rows(self) -> dict[str, int]:
        """Row counts of the catalogue tables that exist and are not empty."""
        from psycopg2 import sql

        present = set(self.public_tables())
        out: dict[str, int] = {}
        with self.db.transaction() as cur:
            for table in CATALOGUE_TABLES:
                if table in present:
                    cur.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table)))
                    row = cur.fetchone()
                    if row and row["n"]:
                        out[table] = int(row["n"])
        return out

    def close_stale_state(self) -> dict[str, int]:
        """Close what a restored catalogue says but cannot be true any more; counts by kind."""
        names = {
            "backup runs marked interrupted": "close_running_backup_runs",
            "restore drills marked interrupted": "close_running_drills",
            "alert incidents closed": "close_open_incidents",
            "old heartbeats cleared": "clear_heartbeats",
            "dead workers removed": "clear_stage_workers",
            "claims released": "release_claims",
            "panorama claims released": "release_stitching",
        }
        out: dict[str, int] = {}
        with self.db.transaction() as cur:
            for label, query in names.items():
                cur.execute(self.db.sql(query))
                out[label] = cur.rowcount
        return out

    def open_quarantine(self) -> list[tuple[int, str]]:
        return [(r["id"], r["quarantine_path"]) for r in self.db.fetchall("open_quarantine")]

    def mark_quarantine_file_missing(self, ids: list[int]) -> None:
        if ids:
            self.db.execute("mark_quarantine_file_missing", {"ids": ids})

    def thumbnailed_assets(self) -> list[tuple[int, str]]:
        return [(r["id"], r["library_path"]) for r in self.db.fetchall("thumbnailed_assets")]

    def motion_videos(self) -> list[tuple[int, str]]:
        """Thumbnailed assets with an extracted motion video: (id, path under PF_STORAGE_DIR)."""
        return [(r["id"], r["motion_video"]) for r in self.db.fetchall("motion_videos")]

    def reset_thumbnails(self, ids: list[int]) -> None:
        if ids:
            self.db.execute("reset_thumbnails", {"ids": ids})

    def record_found_dump(self, name: str, remote: str, created_at: str, size_bytes: int, sha256: str) -> None:
        self.db.execute(
            "record_found_dump",
            {"name": name, "remote": remote, "created_at": created_at, "size_bytes": size_bytes, "sha256": sha256},
        )

    def select_assets(self, path: str | None, since: date | None, until: date | None) -> list[Asset]:
        rows = self.db.fetchall("select_assets", {"path": path, "since": since, "until": until})
        return [Asset(r["id"], r["library_path"], r["sha256"].strip(), r["size_bytes"]) for r in rows]

    def library_paths(self) -> set[str]:
        return {r["library_path"] for r in self.db.fetchall("all_library_paths")}

    def assets_in_folder(self, folder: str) -> dict[str, int]:
        """{library file name: asset id} of the assets directly in ``folder``."""
        base = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        rows = self.db.fetchall("assets_in_folder", {"folder": base, "deeper": base[:-1] + "%/%"})
        return {r["library_path"].rsplit("/", 1)[-1]: r["id"] for r in rows}

    def register_sidecar(self, asset_id: int, library_path: str, kind: str, size_bytes: int, sha256: str) -> bool:
        row = self.db.fetchone("register_sidecar", {
            "asset_id": asset_id, "library_path": library_path, "kind": kind,
            "original_name": library_path.rsplit("/", 1)[-1], "size_bytes": size_bytes, "sha256": sha256})
        return row is not None

    def sidecar_paths(self) -> set[str]:
        return {r["library_path"] for r in self.db.fetchall("all_sidecar_paths")}

    def select_sidecars(self, path: str | None, since: date | None, until: date | None) -> list[dict]:
        """Sidecars of the selected photos (or the one named), with their backup flag."""
        return self.db.fetchall("select_sidecars", {"path": path, "since": since, "until": until})

    def mark_sidecars_backed_up(self, ids: list[int]) -> None:
        if ids:
            self.db.execute("mark_sidecars_backed_up", {"ids": ids})

    def companions(self, library_path: str) -> Companions | None:
        """The sidecars and motion video of the photo at ``library_path`` (None: no such photo)."""
        row = self.db.fetchone("photo_companions", {"path": library_path})
        if row is None:
            return None
        return Companions(int(row["id"]), list(row["sidecars"]), row["motion_video"], row["motion"] or None)

    def backed_up_assets(self) -> dict[str, str]:
        return {r["library_path"]: r["sha256"].strip() for r in self.db.fetchall("backed_up_assets")}

    def mark_path_backed_up(self, library_path: str, sha256: str) -> None:
        self.db.execute("mark_path_backed_up", {"library_path": library_path, "sha256": sha256})

    def register_minimal(
        self,
        *,
        sha256: str,
        library_path: str,
        original_name: str,
        size_bytes: int,
        media_type: str,
        capture_date: date,
        metadata: dict,
    ) -> int | None:
        """Insert a row for an original found only on the remote; None if it already exists."""
        with self.db.transaction() as cur:
            cur.execute(
                self.db.sql("register_minimal"),
                {
                    "sha256": sha256,
                    "library_path": library_path,
                    "original_name": original_name,
                    "size_bytes": size_bytes,
                    "media_type": media_type,
                    "capture_date": capture_date,
                    "metadata": db.json(metadata),
                },
            )
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                self.db.sql("record_registration_event"),
                {
                    "asset_id": row["id"],
                    "library_path": library_path,
                    "detail": db.json({"by": "restore", "reader": "minimal"}),
                },
            )
            return int(row["id"])

    def start_drill(self, remote: str, scratch: str) -> int:
        """Record a drill as running, its scratch named, and hold its lock on this connection
        (which stays open until the drill ends)."""
        self.db.fetchone("hold_drill", {"scratch": scratch})
        row = self.db.fetchone("start_drill", {"remote": remote, "scratch": scratch})
        assert row is not None
        return int(row["id"])

    def abandoned_drills(self) -> list[dict]:
        """Running drills whose process is gone (nobody holds their lock): ``id``, ``scratch``.
        Their locks are now held by this connection until :meth:`close_abandoned_drill`."""
        return [r for r in self.db.fetchall("running_drills") if self._free(r["scratch"])]

    def _free(self, scratch: str) -> bool:
        row = self.db.fetchone("try_drill", {"scratch": scratch})
        return bool(row and row["free"])

    def close_abandoned_drill(self, drill_id: int, scratch: str) -> None:
        self.db.execute("interrupt_drill", {"id": drill_id})
        self.db.fetchone("release_drill", {"scratch": scratch})

    def finish_drill(
        self,
        drill_id: int,
        *,
        dump_name: str | None,
        passed: bool,
        files_checked: int,
        mismatches: int,
        missing: int,
        detail: dict,
    ) -> None:
        self.db.execute(
            "finish_drill",
            {
                "id": drill_id,
                "dump_name": dump_name,
                "result": "passed" if passed else "failed",
                "files_checked": files_checked,
                "mismatches": mismatches,
                "missing": missing,
                "detail": db.json(detail),
            },
        )


def create_scratch_database(admin_url: str, name: str) -> str:
    """Create an empty database ``name`` on the server of ``admin_url``; return its URL."""
    _admin_ddl(admin_url, "CREATE DATABASE {}", name)
    return _with_db(admin_url, name)


def drop_scratch_database(admin_url: str, name: str) -> None:
    _admin_ddl(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def _admin_ddl(admin_url: str, template: str, name: str) -> None:
    from psycopg2 import sql

    conn = db.connect(admin_url, "restore-drill", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL(template).format(sql.Identifier(name)))
    finally:
        conn.close()


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path="/" + name))
