"""Crash recovery: the journal replay and the library-versus-database check.

Whatever a crash (kill -9, power loss, a database that went away) left in ``ingest_journal`` is
finished or undone here, so every inbox file ends in exactly one place with exactly one record.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from librarian import attach, formats, metadata, organize, sidecars
from photo_factory import db, folders

if TYPE_CHECKING:
    from librarian.ingest import Ingestor

log = logging.getLogger(__name__)


def reconcile(ing: Ingestor) -> int:
    """Finish or undo every move a crash left in the journal. Returns entries handled.

    An entry whose replay fails (anything but the database being unreachable) is set aside:
    its content goes into a ``journal_set_aside`` event with the error, the entry leaves the
    journal, and no file is touched; the other entries and the librarian go on. (The inbox
    file, if still there, is taken again like a new one; a library file without a row is
    registered by the library check.)"""
    entries = ing.store.journal_all()
    for j in entries:
        try:
            _reconcile_entry(ing, j)
        except db.UNAVAILABLE:
            raise
        except Exception as exc:
            _set_aside(ing, j, exc)
    return len(entries)


def _set_aside(ing: Ingestor, j: dict, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"
    log.error("journal %s (%s of %s to %s) cannot be replayed: %s; set aside (event "
              "journal_set_aside), files left as they are", j["id"], j["action"], j["source_abs"],
              j["dest_rel"], error)
    ing.store.journal_set_aside(j, error)


def _reconcile_entry(ing: Ingestor, j: dict) -> None:
    src = organize.path_from_db(j["source_abs"])
    payload = j["payload"] or {}
    if j["action"] == "release":
        return _reconcile_release(ing, j, src, payload)
    dest = ing.abs_storage(j["dest_rel"])
    if j["temp_rel"]:
        ing.abs_storage(j["temp_rel"]).unlink(missing_ok=True)
    src_exists, dest_exists = os.path.lexists(src), os.path.lexists(dest)
    if j["action"] == "quarantine":
        if dest_exists:
            if src_exists and (_same_file(src, dest) or _same_content(src, dest)):
                _remove_source(ing, src, j["dest_rel"])
            ing.store.record_quarantine(payload["q"], j["id"]) if payload.get("q") else \
                ing.store.journal_delete(j["id"])
        else:
            ing.store.journal_delete(j["id"])  # nothing moved: the file is retried
        return
    if not dest_exists:
        ing.store.journal_delete(j["id"])  # nothing moved: the inbox file will be ingested again
        log.info("journal %s: move had not happened; %s stays in the inbox", j["id"], src)
        return
    digest, _ = organize.sha256_file(dest)
    if digest != j["sha256"]:
        log.error("journal %s: %s does not match the hash being filed; left alone", j["id"], dest)
        ing.store.record_event("error", source_path=str(j["dest_rel"]), journal_id=j["id"],
                               detail={"problem": "journal destination hash mismatch"})
        return
    if j["action"] == "file" and payload.get("sidecar"):
        return attach.replay(ing, j, src, src_exists)
    if j["action"] == "file":
        row = _from_jsonable(payload["row"])
        existing = ing.store.find_by_sha(j["sha256"])
        if existing is None:
            ing.store.record_asset(row, j["id"])
        elif existing["library_path"] != j["dest_rel"]:
            _drop_redundant_copy(ing, dest, existing, j)
            return
        else:
            ing.store.journal_delete(j["id"])
    else:
        ing.store.record_event("duplicate_restored", asset_id=payload.get("asset_id"), journal_id=j["id"])
    if src_exists and (_same_file(src, dest) or _same_content(src, dest)):
        _remove_source(ing, src, j["dest_rel"], j["sha256"])
    log.info("journal %s: completed the interrupted move to %s", j["id"], j["dest_rel"])


def _remove_source(ing: Ingestor, src: Path, dest_rel: str, sha: str | None = None) -> None:
    """Remove the inbox name of a filed file; one that cannot be removed is recorded as kept,
    and if the library name is a hard link of it (a crash between link and unlink), the library
    gets its own verified copy first, so the kept inbox file can never change the original."""
    kept = organize.remove_source(src)
    if kept is None:
        return
    dest = ing.abs_storage(dest_rel)
    if sha is not None and _same_file(src, dest):
        temp = organize.temp_name(dest)
        try:
            organize.copy_verified(src, temp, sha, os.lstat(src).st_size)
            os.replace(temp, dest)  # our own name, replaced by an identical, independent copy
        finally:
            temp.unlink(missing_ok=True)
        organize.fsync_dir(dest.parent)
    ing.source_kept(src, kept, dest_rel, None)


def _reconcile_release(ing: Ingestor, j: dict, src: Path, payload: dict) -> None:
    """A Retry moving a quarantined file back to the inbox: finished if the inbox copy is whole
    (the quarantine copy is then removed), else undone (the Retry runs again)."""
    target = organize.path_from_db(payload["target"])
    if payload.get("temp"):
        organize.path_from_db(payload["temp"]).unlink(missing_ok=True)
    if os.path.lexists(target) and (not os.path.lexists(src) or _same_file(src, target)
                                    or _same_content(src, target) or _same_link(src, target)):
        if os.path.lexists(src) and not _same_file(src, target):
            src.unlink()
        ing.store.release_quarantine(payload["quarantine_id"], j["id"])
        log.info("journal %s: completed the interrupted retry of quarantine %s", j["id"], payload["quarantine_id"])
    else:
        ing.store.journal_delete(j["id"])


def _drop_redundant_copy(ing: Ingestor, dest: Path, existing: dict, j: dict) -> None:
    """An interrupted move left a second library copy of content recorded elsewhere: remove
    it only once the recorded copy is verified by hash; otherwise keep both and say so."""
    recorded = ing.abs_storage(existing["library_path"])
    try:
        ok = organize.sha256_file(recorded)[0] == j["sha256"]
    except OSError:
        ok = False
    if ok:
        dest.unlink()
        organize.fsync_dir(dest.parent)
        ing.store.record_event("duplicate_removed", asset_id=existing["id"], journal_id=j["id"],
                               detail={"library_path": existing["library_path"], "removed": j["dest_rel"]})
    else:
        log.error("journal %s: %s duplicates asset %s whose recorded copy is missing; both kept",
                  j["id"], j["dest_rel"], existing["id"])
        ing.store.record_event("error", asset_id=existing["id"], journal_id=j["id"],
                               detail={"problem": "duplicate of an asset whose copy is missing",
                                       "library_path": j["dest_rel"]})
    src = organize.path_from_db(j["source_abs"])
    if ok and os.path.lexists(src) and _same_content(src, recorded):
        _remove_source(ing, src, existing["library_path"])


def register_library_file(ing: Ingestor, path: Path, event: str = "registered_orphan",
                          raw_name: bytes | None = None) -> int | None:
    """Record a file that is already in the library but has no row (used at start-up and by
    restore). Returns the asset id, or None when its content is already recorded elsewhere.
    ``raw_name``: the file's name before the check renamed it (kept as its original name)."""
    rel = _storage_rel(ing, path)
    sha, size = organize.sha256_file(path)
    if ing.store.find_by_sha(sha) is not None:
        return None
    tags = ing.reader.read_many([path])[0]
    basics = metadata.basics(tags)
    file_type = (basics.file_type or formats.type_from_extension(path.name) or "").upper()
    media_type = formats.media_type(file_type) or "image"
    row = ing.build_row(path, tags, sha, size, path.stat().st_mtime, basics, file_type, media_type)
    row.pop("_folder")
    row["library_path"] = rel
    row["source_path"] = None
    if raw_name is not None and raw_name != os.fsencode(path.name):
        row["original_name_raw"] = organize.name_to_db(raw_name)
    return ing.store.record_asset(row, None, event=event)


def reconcile_library(ing: Ingestor) -> dict[str, int]:
    """Library files without a row are registered; rows without a file are reported once.

    Linear in the library: one walk (``os.scandir``: the folder entry's type, no ``stat`` per
    file), one set of the recorded paths (streamed from the database by COPY) that shrinks as
    their files are met, and a path string built per file from its folder's.
    """
    known = ing.store.library_paths()  # what is left of it at the end is missing
    attached = attach.SidecarStore(ing.store.db).all_paths()
    cut = len(str(ing.storage)) + 1
    found = registered = 0
    inbox = folders.Fence([ing.inbox])  # the inbox, should a mount show it inside the library
    for dirpath, filenames in _walk(ing.storage / "Library", inbox):
        folder = dirpath[cut:].replace(os.sep, "/")
        for fn in filenames:
            if fn.startswith(organize.TEMP_PREFIX):
                continue  # a dead copy's temp file is removed by the journal
            rel = f"{folder}/{fn}"
            found += 1
            if rel in known:
                known.discard(rel)
                continue
            if rel in attached or fn.startswith("."):
                continue
            registered += _register_unknown(ing, Path(dirpath, fn), rel)
    missing = sorted(known)
    for rel in missing:
        if not ing.store.missing_already_reported(rel):
            ing.store.record_event("missing_original", asset_id=ing.store.asset_id_by_path(rel),
                                   detail={"library_path": rel})
            log.error("library file missing for a recorded asset: %s", rel)
    return {"files": found, "registered": registered, "missing": len(missing)}


def _walk(root: Path, inbox: folders.Fence) -> Iterator[tuple[str, list[str]]]:
    """``(folder, names of what is not a folder)`` for every folder under ``root``, like
    ``os.walk`` (symbolic links to folders are listed, never entered; hidden folders and the
    inbox are skipped) but from the folder entries alone: ``os.walk`` builds three lists per
    folder and a ``DirEntry`` per name it then throws away."""
    stack = [str(root)]
    while stack:
        top = stack.pop()
        names = []
        try:
            it = os.scandir(top)
        except FileNotFoundError:
            continue  # the library not created yet, or a folder removed while we walk
        except OSError as exc:  # its files, if recorded, are reported missing
            log.error("library folder %s cannot be read: %s", top, exc)
            continue
        with it:
            for entry in it:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    names.append(entry.name)
                elif not entry.name.startswith(".") and not entry.is_symlink() \
                        and not _is_inbox(inbox, Path(entry.path)):
                    stack.append(entry.path)
        yield top, names


def _register_unknown(ing: Ingestor, p: Path, rel: str) -> int:
    """A library file without a row: registered (1) unless it is no regular file, a sidecar,
    content recorded elsewhere, or unreadable (0; reported)."""
    if not p.is_file():
        return 0
    if sidecars.kind_of(p.name) is not None:  # never an asset; recorded by its journal entry
        log.error("library sidecar %s has no row (not registered as a photo)", rel)
        return 0
    try:
        if _not_text(rel):  # no database text: it gets a library name first (and keeps its own)
            p = _rename_to_text(ing, p)
        if register_library_file(ing, p, raw_name=os.fsencode(Path(rel).name)) is None:
            return 0
    except db.UNAVAILABLE:
        raise
    except Exception as exc:  # one odd file never stops the librarian
        log.error("library file %s without a row could not be registered: %s", rel, exc)
        ing.store.record_event("error", source_path=organize.path_to_db(rel), detail={
            "problem": "library file without a row could not be registered", "error": str(exc)})
        return 0
    log.warning("registered library file that had no row: %s", rel)
    return 1


def _not_text(rel: str) -> bool:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _rename_to_text(ing: Ingestor, p: Path) -> Path:
    """A library file whose name is not valid UTF-8 (put there by hand) cannot be recorded as
    it is: it gets the library name the librarian would have given it, beside it, never over
    another file. A folder with such a name is refused (nothing is moved)."""
    if _not_text(_storage_rel(ing, p.parent)):
        raise ValueError("its folder's name is not valid UTF-8: rename the folder")
    for name in organize.candidate_names(organize.safe_name(p.name)):
        dest = p.with_name(name)
        try:
            organize.place(p, dest)
        except FileExistsError:
            continue
        log.warning("library file %s renamed to %s (its name was not valid UTF-8)",
                    organize.path_to_db(p), name)
        return dest
    raise FileExistsError(p)


def _is_inbox(inbox: folders.Fence, folder: Path) -> bool:
    if folder not in inbox:
        return False
    log.error("%s is the inbox seen inside the library (a mount): never registered as library files; "
              "keep the inbox and the storage apart", folder)
    return True


def _storage_rel(ing: Ingestor, path: Path) -> str:
    return str(PurePosixPath(*path.relative_to(ing.storage).parts))


def _same_content(a: Path, b: Path) -> bool:
    """Same bytes (regular files), or the same kind of node (pipes, sockets, devices: never
    opened, a pipe would block)."""
    try:
        sa, sb = os.lstat(a), os.lstat(b)
        if stat.S_ISLNK(sa.st_mode) or stat.S_ISLNK(sb.st_mode):
            return False
        if not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)):
            return stat.S_IFMT(sa.st_mode) == stat.S_IFMT(sb.st_mode) and sa.st_rdev == sb.st_rdev
        return organize.sha256_file(a) == organize.sha256_file(b)
    except (OSError, organize.SourceChanged):
        return False


def _same_link(a: Path, b: Path) -> bool:
    try:
        return os.path.islink(a) and os.path.islink(b) and os.readlink(a) == os.readlink(b)
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _from_jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("captured_at", "captured_local"):
        if out.get(k):
            out[k] = datetime.fromisoformat(out[k])
    if out.get("capture_date"):
        out["capture_date"] = datetime.fromisoformat(out["capture_date"]).date()
    return out
