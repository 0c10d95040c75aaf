"""The promise in code: one checker, run after every adversity and fault-injection test.

"Nothing lost": every input's bytes end up exactly once in ``Library/`` or ``Quarantine/`` (or
are a recorded duplicate of bytes that are); one row per library file with its size and hash; no
row without its file; no temporary files (the librarian's or a stage worker's); an empty journal;
nothing left in the inbox that should have been taken. A quarantined file an operator deleted
(status ``deleted``, recorded in ``operator_actions``) is the one content allowed to be gone.
An inbox file may stay only when the librarian recorded why (``source_not_removed``: filed, but
its folder would not let it go; ``left_in_inbox``: it could not be moved at all) — and then its
content must still be in exactly one place (its filed copy, or itself for the latter).
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
                # file_missing: a restore found the row but not its file (quarantine is not backed up)
                "quarantine": "SELECT quarantine_path FROM quarantine"
                              " WHERE status NOT IN ('released', 'file_missing', 'deleted')",
                # an operator deleted these for good (the file and its row say so, operator_actions why)
                "deleted": "SELECT a.detail->>'sha256' AS sha256 FROM quarantine q JOIN operator_actions a"
                           " ON a.action = 'delete_quarantine' AND a.target = 'quarantine:' || q.id"
                           " WHERE q.status = 'deleted' AND a.detail->>'sha256' <> ''",
                "journal": "SELECT id, action, source_abs, dest_rel FROM ingest_journal",
                "kept": "SELECT kind, source_path FROM ingest_events"
                        " WHERE kind IN ('source_not_removed', 'left_in_inbox')",
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
    assert set(lib_files) == set(by_path), (
        f"library files without rows: {sorted(set(lib_files) - set(by_path))}; "
        f"rows without files: {sorted(set(by_path) - set(lib_files))}")
    for rel, path in lib_files.items():
        row = by_path[rel]
        assert not path.is_symlink(), f"a link in the library: {rel}"
        assert (path.stat().st_size, sha256(path)) == (row["size_bytes"], row["sha256"].strip()), rel

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
        assert len(places.get(digest, [])) == 1, f"content {digest[:12]} is in {places.get(digest)}"
    stray = set(places) - set(originals)
    assert not stray, f"content in storage that was never in the inbox: {[places[s] for s in stray]}"
