"""Filing groups together: a batch's files and their already-filed partners (librarian/groups.py
has the rules).

Before a batch is journaled, :func:`prepare` decides its groups (with the filed candidates that
share an identifier or a pair name), puts every member in the folder of its primary's date (a
late member: the folder of the group's filed members) and writes the membership into each row
(``row["group"]``, journaled with the row, so a replay after a crash records it the same way).
:func:`choose_destinations` then gives all members of a group ONE collision suffix
(``IMG_1_1.HEIC`` + ``IMG_1_1.MOV``); a late member takes the suffix its filed partners carry,
and only when that exact name is taken by an unrelated file does it take the next free one.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from librarian import groups, organize
from librarian.group_store import GroupStore

if TYPE_CHECKING:
    from librarian.ingest import Ingestor, Planned

log = logging.getLogger(__name__)

#: How many collision suffixes are tried for a whole group before members are named one by one.
_MAX_SUFFIX = 10_000


@dataclass
class GroupPlan:
    kind: str
    folder: PurePosixPath
    #: the collision suffix of the group's filed members (None: chosen for the batch)
    index: int | None


def source_folder(source_path: str | None) -> str:
    """The inbox folder a file came from, as text ("" at the top of the inbox)."""
    parent = str(PurePosixPath(source_path or "").parent)
    return "" if parent == "." else parent


def member_from_row(row: dict[str, Any], ref: str) -> groups.Member:
    meta = row.get("metadata") or {}
    captured = row.get("captured_at")
    if isinstance(captured, str):
        captured = datetime.fromisoformat(captured)
    if captured is not None and captured.tzinfo is None:
        captured = captured.replace(tzinfo=UTC)
    when, subsec = groups.instant(captured, meta.get("PF:SubSec"))
    return groups.Member(
        ref=ref, name=row.get("original_name") or "", folder=source_folder(row.get("source_path")),
        media=row.get("media_type") or "", when=when, tagged=groups.tagged_source(row.get("date_source")),
        subsec=subsec, camera=groups.camera(row.get("camera_make"), row.get("camera_model")),
        content_id=meta.get("PF:ContentIdentifier"), burst_id=meta.get("PF:BurstUUID"))


def member_from_db(c: dict[str, Any]) -> groups.Member:
    m = member_from_row({**c, "metadata": {"PF:SubSec": c.get("subsec"),
                                          "PF:ContentIdentifier": c.get("content_id"),
                                          "PF:BurstUUID": c.get("burst_id")}}, c["sha256"].strip())
    return groups.Member(**{**m.__dict__, "group_id": c.get("group_id"), "group_kind": c.get("group_kind"),
                            "role": c.get("group_role"), "filed": True})


def prepare(ing: Ingestor, planned: list[Planned]) -> None:
    """Decide the batch's groups; set each member's folder and ``row["group"]``."""
    if not planned:
        return
    by_ref: dict[str, Planned] = {}
    for p in planned:
        row = p.row
        row.setdefault("metadata", {})["PF:PairName"] = groups.pair_name(
            source_folder(row.get("source_path")), row["original_name"], row["media_type"])
        by_ref[p.sha] = p
    news = [member_from_row(p.row, p.sha) for p in planned]
    store = GroupStore(ing.store.db)
    cands = [c for c in store.candidates(
        sorted({p.row["metadata"]["PF:PairName"] for p in planned}),
        sorted({m.content_id for m in news if m.content_id}),
        sorted({m.burst_id for m in news if m.burst_id})) if c["sha256"].strip() not in by_ref]
    filed = {c["sha256"].strip(): c for c in cands}
    for g in groups.plan([*news, *(member_from_db(c) for c in cands)]):
        members = [by_ref[ref] for ref in g.roles if ref in by_ref]
        anchors = sorted((filed[ref] for ref in g.roles if ref in filed),
                         key=lambda c: (c["group_role"] != groups.PRIMARY_ROLE[g.kind], c["id"]))
        if anchors:
            a = anchors[0]
            lib = PurePosixPath(a["library_path"])
            index = groups.suffix_index(lib.name, itertools.islice(
                organize.candidate_names(a["original_name"]), _MAX_SUFFIX))
            plan = GroupPlan(g.kind, lib.parent, index)
        else:
            primary = by_ref[g.primary] if g.primary in by_ref else members[0]
            plan = GroupPlan(g.kind, primary.folder, None)
        for p in members:
            p.folder = plan.folder
            p.row["group"] = {"kind": g.kind, "key": g.key, "role": g.roles[p.sha],
                              "partners": {ref: role for ref, role in g.roles.items() if ref != p.sha}}
            p.row["_group"] = plan
        log.info("%s of %d: %s", g.kind, len(g.roles), ", ".join(
            f"{by_ref[r].row['source_path'] if r in by_ref else filed[r]['library_path']} ({role})"
            for r, role in g.roles.items()))


def choose_destinations(ing: Ingestor, planned: list[Planned], taken: set[str]) -> None:
    """Set ``row["library_path"]`` for every planned file: a group's members with one suffix."""
    reserved: set[str] = set()
    done: set[int] = set()
    for p in planned:
        plan: GroupPlan | None = p.row.get("_group")
        if plan is None:
            p.row["library_path"] = ing.choose_destination(p.folder, p.row["original_name"], reserved, taken)
            reserved.add(p.row["library_path"])
        elif id(plan) not in done:
            done.add(id(plan))
            _assign(ing, plan, [q for q in planned if q.row.get("_group") is plan], reserved, taken)


def _assign(ing: Ingestor, plan: GroupPlan, members: list[Planned], reserved: set[str], taken: set[str]) -> None:
    names = [p.row["original_name"] for p in members]

    def free(rel: str, first: bool) -> bool:
        if rel in reserved or rel in taken or os.path.lexists(ing.abs_storage(rel)):
            return False
        return first or not ing.store.path_taken(rel)

    def nth(name: str, i: int) -> str:
        return str(plan.folder / next(itertools.islice(organize.candidate_names(name), i, None)))

    chosen: list[str] | None = None
    if plan.index is not None:  # a late member: the suffix of the filed ones, if that name is free
        chosen = [nth(n, plan.index) for n in names]
        chosen = [rel if free(rel, False) else "" for rel in chosen]
    elif len({n.casefold() for n in names}) == len(names):
        for i in range(_MAX_SUFFIX):
            rels = [nth(n, i) for n in names]
            if all(free(rel, i == 0) for rel in rels):
                chosen = rels
                break
    chosen = chosen or [""] * len(members)
    for p, rel in zip(members, chosen, strict=True):
        if not rel:
            rel = ing.choose_destination(plan.folder, p.row["original_name"], reserved, taken)
            log.warning("%s: its group's name is taken by another file; filed as %s (group kept)",
                        p.row["source_path"], rel)
        p.row["library_path"] = rel
        reserved.add(rel)
