"""The promise in code: one checker, run after every adversity and fault-injection test.

"Nothing lost": every input's bytes end up exactly once in ``Library/`` or ``Quarantine/`` (or
are a recorded duplicate of bytes that are); one row per library file with its size and hash; no
row without its file; every linked motion-photo video present and none unlinked
(``Derivatives/motion/``); no temporary files (the librarian's or a stage worker's); an empty journal;
nothing left in the inbox that should have been taken; every group of assets whole (two or more
members, one primary, one folder). A quarantined file an operator deleted (status ``deleted``,
recorded in ``operator_actions``) is the one content allowed to be gone. An inbox file may stay only
when the librarian recorded why (``source_not_removed``: filed, but its folder would not let it go;
``left_in_inbox``: it could not be moved at all) — and then its content must still be in exactly
one place (its filed copy, or itself for the latter).

Sidecars (XMP, AAE, THM, Takeout JSON) are library files too: each has its ``asset_sidecars``
row (size, hash), lies in the same folder as its photo, and is named after it. Identical sidecar
bytes may sit beside several photos (two photos' identical AAE edits), once per photo.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import psycopg2
import psycopg2.extras

from librarian import inbox as inbox_rules


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files(root: Path) -> list[Path]:
    """Every entry under ``root`` that is not a folder: regular files, links (never followed),
    pipes, sockets and devices."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_symlink() or not p.is_dir())


def contents(paths: Iterable[Path]) -> set[str]:
    """SHA-256 of each regular file (links and hidden control files left out)."""
    return {sha256(p) for p in paths if p.is_file() and not p.is_symlink() and not p.name.startswith(".")}


def _rows(database_url: str) -> dict[str, list[dict]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            out = {}
            for name, sql in {
                "assets": "SELECT id, library_path, sha256, size_bytes FROM media_assets",
                "sidecars": "SELECT s.asset_id, s.library_path, s.sha256, s.size_bytes, a.library_path AS photo"
                            " FROM asset_sidecars s JOIN media_assets a ON a.id = s.asset_id",
                # file_missing: a restore found the row but not its file (quarantine is not backed up)
                "quarantine": "SELECT quarantine_path FROM quarantine"
                              " WHERE status NOT IN ('released', 'file_missing', 'deleted')",
                # an operator deleted these for good (the file and its row say so, operator_actions why)
                "deleted": "SELECT a.detail->>'sha256' AS sha256 FROM quarantine q JOIN operator_actions a"
                           " ON a.action = 'delete_quarantine' AND a.target = 'quarantine:' || q.id"
                           " WHERE q.status = 'deleted' AND a.detail->>'sha256' <> ''",
                "journal": "SELECT id, action, source_abs, dest_rel FROM ingest_journal",
                "motion": "SELECT motion_video FROM media_assets WHERE motion_video IS NOT NULL",
                "kept": "SELECT kind, source_path FROM ingest_events"
                        " WHERE kind IN ('source_not_removed', 'left_in_inbox')",
                "groups": "SELECT g.id, g.kind, a.library_path, a.group_role FROM asset_groups g"
                          " LEFT JOIN media_assets a ON a.group_id = g.id ORDER BY g.id, a.id",
            }.items():
                cur.execute(sql)
                out[name] = [dict(r) for r in cur.fetchall()]
            return out
    finally:
        conn.close()


def check(database_url: str, inbox: Path, storage: Path, originals: set[str], *,
          allow_in_inbox: Iterable[Path] = (), missing_ok: set[str] = frozenset()) -> None:
    """Assert that nothing was lost, duplicated, half-moved or left unrecorded.

    ``originals``: SHA-256 of every input file. ``allow_in_inbox``: inbox files that are meant
    to stay (still being written, waiting for their grace period, …). ``missing_ok``: contents a
    test removed on purpose.
    """
    rows = _rows(database_url)
    allowed = {Path(p) for p in allow_in_inbox}
    kept = {(r["kind"], r["source_path"]) for r in rows["kept"]}
    recorded: dict[Path, str] = {}
    for p in files(inbox):
        rel = os.fsencode(p.relative_to(inbox).as_posix()).decode("utf-8", "replace").replace("\x00", "")
        for kind in ("source_not_removed", "left_in_inbox"):
            if (kind, rel) in kept:
                recorded[p] = kind
    leftovers = [p for p in files(inbox) if not inbox_rules.is_ignored_path(p.relative_to(inbox))
                 and p not in allowed and p not in recorded]
    assert leftovers == [], f"files left in the inbox: {leftovers}"
    assert rows["journal"] == [], f"ingest_journal not empty: {rows['journal']}"
    # the librarian's copies (.pf-tmp-) and every atomic write's temporary (.tmp-, e.g. thumbnails)
    temps = [p for p in files(storage) if p.name.startswith((".pf-tmp-", ".tmp-"))]
    assert temps == [], f"temporary copies left behind: {temps}"

    lib_files = {p.relative_to(storage).as_posix(): p for p in files(storage / "Library")}
    by_path = {a["library_path"]: a for a in rows["assets"]}
    assert len(by_path) == len(rows["assets"]), "two rows share a library path"
    sidecars = {s["library_path"]: s for s in rows["sidecars"]}
    assert not set(sidecars) & set(by_path), f"sidecar rows on photo paths: {set(sidecars) & set(by_path)}"
    for rel, side in sidecars.items():
        photo = Path(side["photo"])
        assert Path(rel).parent == photo.parent, f"sidecar {rel} is not beside its photo {photo}"
        assert Path(rel).name.lower().startswith(photo.stem.lower()), f"sidecar {rel} not named after {photo}"
    by_path = {**by_path, **sidecars}
    assert set(lib_files) == set(by_path), (
        f"library files without rows: {sorted(set(lib_files) - set(by_path))}; "
        f"rows without files: {sorted(set(by_path) - set(lib_files))}")
    for rel, path in lib_files.items():
        row = by_path[rel]
        assert not path.is_symlink(), f"a link in the library: {rel}"
        assert (path.stat().st_size, sha256(path)) == (row["size_bytes"], row["sha256"].strip()), rel

    # motion photos' extracted videos: every linked one exists, none is left unlinked
    linked = {r["motion_video"] for r in rows["motion"]}
    videos = {p.relative_to(storage).as_posix() for p in files(storage / "Derivatives" / "motion")
              if p.suffix == ".mp4"}
    assert linked == videos, (f"motion videos without their file: {sorted(linked - videos)}; "
                              f"unlinked motion videos: {sorted(videos - linked)}")

    q_files = {p.relative_to(storage).as_posix(): p for p in files(storage / "Quarantine")}
    q_rows = {r["quarantine_path"] for r in rows["quarantine"]}
    assert set(q_files) == q_rows, (
        f"quarantine files without rows: {sorted(set(q_files) - q_rows)}; "
        f"rows without files: {sorted(q_rows - set(q_files))}")

    places: dict[str, list[str]] = {}
    left = [(f"inbox:{p.relative_to(inbox)}", p) for p, kind in recorded.items() if kind == "left_in_inbox"]
    for rel, path in [*lib_files.items(), *q_files.items(), *left]:
        if path.is_file() and not path.is_symlink():
            places.setdefault(sha256(path), []).append(rel)
    deleted = {r["sha256"].strip() for r in rows["deleted"]}
    for digest in originals - set(missing_ok) - deleted:
        where = places.get(digest, [])
        beside = [sidecars[r]["asset_id"] for r in where if r in sidecars]
        if where and len(beside) == len(where) and len(set(beside)) == len(beside):
            continue  # the same sidecar bytes beside several photos, once each
        assert len(where) == 1, f"content {digest[:12]} is in {where}"
    stray = set(places) - set(originals)
    assert not stray, f"content in storage that was never in the inbox: {[places[s] for s in stray]}"
    _check_groups(rows["groups"])


#: The one primary-like role of each group kind (migration 0014).
_PRIMARY = {"live_photo": "still", "raw_jpeg": "jpeg", "edit": "original", "burst": "primary"}


def _check_groups(rows: list[dict]) -> None:
    """Every group: two or more members, exactly one primary-like member, one holder of every
    role but ``edited``/``member``, and all members filed in one library folder."""
    by_group: dict[int, list[dict]] = {}
    for r in rows:
        by_group.setdefault(r["id"], []).append(r)
    for gid, members in by_group.items():
        kind = members[0]["kind"]
        roles = [m["group_role"] for m in members if m["group_role"] is not None]
        assert len(roles) >= 2, f"group {gid} ({kind}) has {len(roles)} member(s)"
        assert roles.count(_PRIMARY[kind]) == 1, f"group {gid} ({kind}) roles {roles}"
        assert all(roles.count(r) == 1 for r in roles if r not in ("edited", "member")), f"group {gid}: {roles}"
        folders = {str(Path(m["library_path"]).parent) for m in members}
        assert len(folders) == 1, f"group {gid} ({kind}) is split over folders {sorted(folders)}"
