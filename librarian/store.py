"""The librarian's database access: the only module of the librarian that runs SQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg2.extras import execute_values

from librarian import group_store
from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))
#: Advisory lock held by the active librarian (a second replica waits as a standby).
LIBRARIAN_LOCK = 0x70666C6962  # "pflib"


class SharedDatabase(db.Database):
    """The librarian's one connection, used by a batch's thread and its filing thread
    (``ingest._Filer``): one transaction at a time, each whole (never a statement of one
    thread inside the other's transaction)."""

    def __init__(self, url: str, application_name: str, queries: dict[str, str] | None = None):
        super().__init__(url, application_name, queries)
        self._turn = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._turn, super().transaction() as cur:
            yield cur


class LibrarianStore:
    def __init__(self, database_url: str):
        self.db = SharedDatabase(database_url, "librarian", QUERIES)
        self._lock_conn: Any = None
        #: Counts how often the lock was (re)taken: a new value means a new session, after which
        #: whatever an earlier session left in the journal must be replayed.
        self.lock_generation = 0

    def close(self) -> None:
        self.db.close()
        self._lock_conn = None

    def acquire_lock(self) -> bool:
        """Hold the single-librarian lock on this connection (re-taken after a reconnect)."""
        conn = self.db.conn
        if self._lock_conn is conn and not conn.closed:
            return True
        row = self.db.fetchone("try_lock", {"key": LIBRARIAN_LOCK})
        if row and row["locked"]:
            self._lock_conn = conn
            self.lock_generation += 1
            return True
        return False

    def find_by_sha(self, sha256: str) -> dict | None:
        return self.db.fetchone("find_by_sha", {"sha256": sha256})

    def find_by_shas(self, shas: list[str]) -> dict[str, dict]:
        if not shas:
            return {}
        return {r["sha256"]: r for r in self.db.fetchall("find_by_shas", {"shas": shas})}

    def taken_paths(self, rels: list[str]) -> set[str]:
        return {r["path"] for r in self.db.fetchall("taken_paths", {"paths": rels})} if rels else set()

    def journal_add_many(self, entries: list[tuple[str, str, str, str | None, str | None, dict]]) -> list[int]:
        """Journal several moves in one statement: (action, source, dest_rel, temp_rel, sha, payload)."""
        if not entries:
            return []
        with self.db.transaction() as cur:
            rows = execute_values(cur, self.db.sql("journal_add_many"),
                                  [(a, s, d, t, h, db.json(p)) for a, s, d, t, h, p in entries], fetch=True)
        return [int(r["id"]) for r in rows]

    def path_taken(self, rel: str) -> bool:
        row = self.db.fetchone("path_taken", {"path": rel})
        return bool(row and row["taken"])

    def journal_add(self, action: str, source_abs: str, dest_rel: str, *, temp_rel: str | None = None,
                    sha256: str | None = None, payload: dict | None = None) -> int:
        row = self.db.fetchone("journal_add", {
            "action": action, "source_abs": source_abs, "dest_rel": dest_rel, "temp_rel": temp_rel,
            "sha256": sha256, "payload": db.json(payload or {}),
        })
        assert row is not None
        return int(row["id"])

    def journal_all(self) -> list[dict]:
        return self.db.fetchall("journal_all")

    def journal_delete(self, journal_id: int) -> None:
        self.db.execute("journal_delete", {"id": journal_id})

    def record_asset(self, row: dict[str, Any], journal_id: int | None, event: str = "ingested") -> int:
        """Insert the asset, its event, clear the journal entry and NOTIFY — one transaction."""
        return self.record_assets([(row, journal_id)], event)[0]

    def record_assets(self, items: list[tuple[dict[str, Any], int | None]], event: str = "ingested") -> list[int]:
        """Insert assets with their events, clear their journal entries and NOTIFY once — one
        transaction (one commit for a whole batch)."""
        if not items:
            return []
        rows = []
        for row, _ in items:
            params = dict(row)
            params["location"] = db.json(row["location"]) if row.get("location") else None
            params["metadata"] = db.json(row.get("metadata") or {})
            rows.append(params)
        with self.db.transaction() as cur:
            returned = execute_values(cur, self.db.sql("insert_assets_many"), rows,
                                      template=self.db.sql("insert_assets_many_template"), fetch=True)
            by_sha = {r["sha256"]: int(r["id"]) for r in returned}
            ids = [by_sha[row["sha256"]] for row, _ in items]
            execute_values(cur, self.db.sql("add_events_many"), [
                (event, asset_id, row.get("source_path"),
                 db.json({"library_path": row["library_path"], "date_source": row["date_source"]}))
                for (row, _), asset_id in zip(items, ids, strict=True)])
            group_store.link(cur, [(row, i) for (row, _), i in zip(items, ids, strict=True)])
            jids = [jid for _, jid in items if jid is not None]
            if jids:
                cur.execute(self.db.sql("journal_delete_many"), {"ids": jids})
            cur.execute(self.db.sql("notify_new_asset"), {"id": ids[-1]})
        return ids

    def record_event(self, kind: str, *, asset_id: int | None = None, source_path: str | None = None,
                     detail: dict | None = None, journal_id: int | None = None) -> None:
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("add_event"), {
                "kind": kind, "asset_id": asset_id, "source_path": source_path,
                "detail": db.json(detail or {}),
            })
            if journal_id is not None:
                cur.execute(self.db.sql("journal_delete"), {"id": journal_id})

    def record_quarantine(self, q: dict[str, Any], journal_id: int | None) -> int:
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("insert_quarantine"), q)
            qid = int(cur.fetchone()["id"])
            cur.execute(self.db.sql("add_event"), {
                "kind": "quarantined", "asset_id": None, "source_path": q["source_path"],
                "detail": db.json({"reason": q["reason"], "detail": q["detail"], "quarantine_id": qid,
                                   "quarantine_path": q["quarantine_path"]}),
            })
            if journal_id is not None:
                cur.execute(self.db.sql("journal_delete"), {"id": journal_id})
        return qid

    def retry_requested(self) -> list[dict]:
        return self.db.fetchall("retry_requested")

    def release_quarantine(self, qid: int, journal_id: int | None) -> None:
        """Mark a quarantine row released (its file is back in the inbox) and clear the journal
        entry of that move — one transaction."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("release_quarantine"), {"id": qid})
            if journal_id is not None:
                cur.execute(self.db.sql("journal_delete"), {"id": journal_id})

    def retry_failed(self, qid: int, error: str) -> None:
        """A Retry that could not move the file back: the row is ``quarantined`` again, with an
        ``error`` event saying why."""
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("retry_failed"), {"id": qid})
            cur.execute(self.db.sql("add_event"), {
                "kind": "error", "asset_id": None, "source_path": None,
                "detail": db.json({"problem": "quarantine retry failed", "quarantine_id": qid, "error": error}),
            })

    def journal_set_aside(self, entry: dict[str, Any], error: str) -> None:
        """Move a journal entry that cannot be replayed into a ``journal_set_aside`` event (its
        whole content and the error) — one transaction."""
        detail = {k: entry.get(k) for k in ("id", "action", "source_abs", "dest_rel", "temp_rel", "sha256",
                                             "payload")}
        detail["created_at"] = str(entry.get("created_at"))
        detail["error"] = error[:2000]
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("add_event"), {"kind": "journal_set_aside", "asset_id": None,
                                                   "source_path": entry.get("source_abs"),
                                                   "detail": db.json(detail)})
            cur.execute(self.db.sql("journal_delete"), {"id": entry["id"]})

    def kept_sources(self, rels: list[str]) -> dict[str, list[dict]]:
        """Inbox paths recorded as filed-but-not-removed or left in the inbox: {path: [record]}."""
        out: dict[str, list[dict]] = {}
        if rels:
            for r in self.db.fetchall("kept_sources", {"paths": rels}):
                out.setdefault(r["source_path"], []).append({"kind": r["kind"], **(r["detail"] or {})})
        return out

    def kept_source_recorded(self, rel: str, ino: int, ctime_ns: int | None = None) -> bool:
        row = self.db.fetchone("kept_source_recorded", {"path": rel, "ino": ino, "ctime_ns": ctime_ns})
        return bool(row and row["recorded"])

    def library_paths(self) -> set[str]:
        """Every recorded library path, streamed through a server-side cursor: a million rows
        never sit in memory as a million row dicts (the start-up check's peak), only as the set.
        (COPY … TO STDOUT was measured too: psycopg2 hands it over one ``write`` per row, and at a
        million paths it cost as much client CPU as this, 0.8-0.9 s, plus its own unescaping.)"""
        conn = self.db.conn
        try:
            with conn.cursor() as cur:
                cur.execute("SET LOCAL jit = off")  # JIT would compile the million-row scan first
            with conn.cursor(name="library_paths") as cur:
                cur.itersize = 20_000
                cur.execute(self.db.sql("all_library_paths"))
                paths = {row[0] for row in cur}
            conn.commit()
        except db.UNAVAILABLE:
            self.db.close()
            raise
        except BaseException:
            conn.rollback()
            raise
        return paths

    def missing_already_reported(self, rel: str) -> bool:
        row = self.db.fetchone("missing_already_reported", {"path": rel})
        return bool(row and row["reported"])

    def asset_id_by_path(self, rel: str) -> int | None:
        row = self.db.fetchone("asset_id_by_path", {"path": rel})
        return int(row["id"]) if row else None

