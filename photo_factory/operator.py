"""What an operator does by hand, from the CLI or the dashboard: acknowledge a failure, delete a
quarantined file, switch maintenance on and off. Every action is recorded in ``operator_actions``
(who, what, when) in the same transaction as the change itself.

An *acknowledged* failed item or quarantined file is kept and listed but no longer counts against
the verdict; a stage item that fails again after its acknowledgement counts again, and a new
failure or quarantine is never covered by an older acknowledgement.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2

from photo_factory import db, files

log = logging.getLogger(__name__)
QUERIES = db.load_queries(Path(__file__).with_name("operator_queries.sql"))


def default_actor() -> str:
    """Who acts from a shell: ``$PF_ACTOR``, else the login name, else ``cli``."""
    return os.environ.get("PF_ACTOR") or os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"


def record_action(cur: Any, action: str, target: str, actor: str, **detail: Any) -> None:
    """Audit an operator's action in the caller's transaction (``operator_actions``)."""
    cur.execute(QUERIES["record_action"], {"action": action, "target": target, "actor": actor,
                                           "detail": db.json(detail)})


class OperatorStore:
    def __init__(self, database_url: str, application_name: str = "operator"):
        self.db = db.Database(database_url, application_name, QUERIES)

    def close(self) -> None:
        self.db.close()

    # -- acknowledge ------------------------------------------------------------------------
    def acknowledge_failed(self, stage: str, asset_ids: list[int] | None, actor: str, note: str = "",
                           undo: bool = False) -> list[int]:
        """Acknowledge failed items of ``stage`` (every one when ``asset_ids`` is None)."""
        name = "unacknowledge_stage_jobs" if undo else "acknowledge_stage_jobs"
        with self.db.transaction() as cur:
            cur.execute(self.db.sql(name), {"stage": stage, "ids": asset_ids, "actor": actor})
            done = sorted(r["asset_id"] for r in cur.fetchall())
            for asset_id in done:
                record_action(cur, "unacknowledge_stage_job" if undo else "acknowledge_stage_job",
                             f"{stage}:{asset_id}", actor, note=note)
        log.info("%s %d failed %s item(s) by %s: %s", "un-acknowledged" if undo else "acknowledged",
                 len(done), stage, actor, done)
        return done

    def acknowledge_quarantine(self, ids: list[int] | None, actor: str, note: str = "",
                               reason: str | None = None, undo: bool = False) -> list[int]:
        """Acknowledge quarantined files (every one, or every one of ``reason``, when ids is None)."""
        with self.db.transaction() as cur:
            if undo:
                cur.execute(self.db.sql("unacknowledge_quarantine"), {"ids": ids or []})
            else:
                cur.execute(self.db.sql("acknowledge_quarantine"), {"ids": ids, "actor": actor, "reason": reason})
            done = sorted(r["id"] for r in cur.fetchall())
            for qid in done:
                record_action(cur, "unacknowledge_quarantine" if undo else "acknowledge_quarantine",
                             f"quarantine:{qid}", actor, note=note)
        log.info("%s %d quarantined file(s) by %s: %s", "un-acknowledged" if undo else "acknowledged",
                 len(done), actor, done)
        return done

    def delete_quarantined(self, ids: list[int], storage_dir: Path, actor: str, note: str = "") -> list[int]:
        """Delete quarantined files for good: the file first, then the row says ``deleted``.

        The row is locked while its file is removed; a file already gone counts as deleted (the
        row would otherwise point at nothing). Only paths inside ``Quarantine/`` are touched.
        """
        quarantine = (storage_dir / "Quarantine").resolve()
        done: list[int] = []
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("quarantine_for_delete"), {"ids": ids})
            for row in cur.fetchall():
                path = storage_dir / row["quarantine_path"]
                if not path.resolve().is_relative_to(quarantine):
                    log.error("quarantine #%s: %s is not inside Quarantine/; not deleted", row["id"], path)
                    continue
                digest = (row["sha256"] or "").strip()
                try:
                    if not digest and path.is_file() and not path.is_symlink():
                        digest = files.sha256_file(path)[0]  # what was deleted, for the record
                    path.unlink()
                except FileNotFoundError:
                    log.warning("quarantine #%s: %s was already gone", row["id"], path)
                cur.execute(self.db.sql("mark_quarantine_deleted"), {"id": row["id"]})
                record_action(cur, "delete_quarantine", f"quarantine:{row['id']}", actor, note=note,
                             name=row["original_name"], reason=row["reason"], sha256=digest,
                             path=row["quarantine_path"])
                done.append(int(row["id"]))
        log.info("deleted %d quarantined file(s) by %s: %s", len(done), actor, done)
        return done

    def failed_items(self, limit: int = 500) -> list[dict]:
        return self.db.fetchall("failed_items", {"limit": limit})

    def quarantined_items(self, limit: int = 500) -> list[dict]:
        return self.db.fetchall("quarantined_items", {"limit": limit})

    # -- maintenance -------------------------------------------------------------------------
    def maintenance(self) -> dict | None:
        """The switch while it is on: ``{until, reason, set_by, set_at, remaining_s}``; else None."""
        return self.db.fetchone("maintenance")

    def maintenance_on(self, seconds: float, reason: str, actor: str) -> Any:
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("set_maintenance"), {"seconds": seconds, "reason": reason, "actor": actor})
            until = cur.fetchone()["until"]  # type: ignore[index]
            record_action(cur, "maintenance_on", "maintenance", actor, reason=reason, seconds=seconds)
        log.info("maintenance on until %s by %s: %s", until, actor, reason)
        return until

    def maintenance_off(self, actor: str) -> bool:
        with self.db.transaction() as cur:
            cur.execute(self.db.sql("clear_maintenance"))
            was = cur.fetchone() is not None
            record_action(cur, "maintenance_off", "maintenance", actor)
        log.info("maintenance off by %s", actor)
        return was


@contextmanager
def maintenance_during(database_url: str, reason: str, seconds: float = 3600.0,
                       actor: str = "photo-factory") -> Iterator[bool]:
    """Maintenance on while a restore or an upgrade runs, off after (only if it was off before).

    Best effort: a database without the switch yet (before migration 0018, an empty restore
    target) or any error only logs; the operation itself always runs. Yields whether it is on.
    """
    store: OperatorStore | None = None
    switched = False
    try:
        store = OperatorStore(database_url, "maintenance")
        if store.db.fetchone("switch_exists")["present"] and store.maintenance() is None:  # type: ignore[index]
            store.maintenance_on(seconds, reason, actor)
            switched = True
    except psycopg2.Error as exc:
        log.info("maintenance not switched on for %s: %s", reason, str(exc).strip())
    try:
        yield switched
    finally:
        if store is not None:
            try:
                if switched:
                    store.maintenance_off(actor)
            except psycopg2.Error as exc:
                log.warning("maintenance not switched off after %s: %s", reason, str(exc).strip())
            store.close()
