"""The librarian's group queries: the only module besides store.py that runs librarian SQL.

:func:`link` runs inside the transaction that records assets (``LibrarianStore.record_assets``,
also on a journal replay), so an asset and its group membership commit together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from librarian.groups import MANY
from photo_factory import db

QUERIES = db.load_queries(Path(__file__).with_name("group_queries.sql"))


class GroupStore:
    def __init__(self, database: db.Database):
        self.db = database

    def candidates(self, pair_names: list[str], content_ids: list[str], burst_ids: list[str]) -> list[dict]:
        """Filed assets a new file may be grouped with (see ``group_queries.sql``)."""
        if not (pair_names or content_ids or burst_ids):
            return []
        with self.db.transaction() as cur:
            cur.execute(QUERIES["candidates"], {"pair_names": pair_names, "content_ids": content_ids,
                                                "burst_ids": burst_ids})
            return [dict(r) for r in cur.fetchall()]


def link(cur: Any, items: list[tuple[dict[str, Any], int]]) -> None:
    """Give the just-inserted assets ``(row, id)`` their group, as their rows' ``group`` says
    (``{"kind", "key", "role", "partners": {sha256: role}}``).

    A group is only made with a partner that is recorded (in this transaction or before): a
    member recorded alone (its partner quarantined, or not replayed yet) stays ungrouped until a
    partner arrives and joins it. A role that is held already (a second still for one video) is
    not taken twice: that asset stays alone."""
    for row, asset_id in items:
        plan = row.get("group")
        if not plan:
            continue
        partner_roles: dict[str, str] = plan.get("partners") or {}
        cur.execute(QUERIES["partners"], {"shas": list(partner_roles)})
        partners = [dict(r) for r in cur.fetchall()]
        if not partners:
            continue
        group_id = next((p["group_id"] for p in partners if p["group_kind"] == plan["kind"]), None)
        if group_id is None and plan.get("key"):
            cur.execute(QUERIES["group_by_key"], {"kind": plan["kind"], "key": plan["key"]})
            found = cur.fetchone()
            group_id = found["id"] if found else None
        free = [p for p in partners if p["group_id"] is None]
        if group_id is None:
            if not free:
                continue
            cur.execute(QUERIES["insert_group"], {"kind": plan["kind"], "key": plan.get("key")})
            made = cur.fetchone()
            if made is None:  # raced with nobody (one librarian), but never fail the recording
                continue
            group_id = made["id"]
        cur.execute(QUERIES["group_roles"], {"group_id": group_id})
        held = [r["role"] for r in cur.fetchall()]
        joined = []
        for who, role in [(asset_id, plan["role"]), *((p["id"], partner_roles[p["sha256"]]) for p in free)]:
            if role not in MANY and role in held:
                continue
            cur.execute(QUERIES["set_member"], {"group_id": group_id, "role": role, "id": who})
            if cur.rowcount:
                held.append(role)
                joined.append((who, role))
        if len(held) < 2:  # nobody to be a group with after all: undo
            for who, _ in joined:
                cur.execute(QUERIES["unset_member"], {"id": who})
            cur.execute(QUERIES["drop_empty_group"], {"group_id": group_id})
            continue
        for who, role in joined:
            cur.execute(QUERIES["grouped_event"], {"id": who, "detail": db.json(
                {"group_id": group_id, "kind": plan["kind"], "role": role})})
