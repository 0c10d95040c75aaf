"""Ingest: from a stable inbox file to a durable, verified, recorded library file.

Order for every file (nothing moves before the database has the intent):
  1. checks — symlink / not a regular file / empty / unsupported type / undecodable → quarantine;
  2. SHA-256 (1 MiB chunks) — an exact duplicate is removed from the inbox only once its library
     copy is confirmed present with the recorded size, else this copy is put back in its place;
  3. capture time and destination ``Library/YYYY/YYYY-MM-DD/<name>`` (``_1``, ``_2`` on collisions);
  4. the move is written to ``ingest_journal`` (committed), then performed (see organize.py),
     then the asset row, its event and the journal deletion commit in one transaction.
:meth:`Ingestor.reconcile` finishes or undoes whatever a crash left in the journal.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from librarian import checks, dates, formats, metadata, organize, recovery
from librarian.settings import LibrarianSettings
from librarian.store import LibrarianStore
from photo_factory.settings import CoreSettings

log = logging.getLogger(__name__)

#: The fixed vocabulary of quarantine reasons (also enforced by a CHECK constraint).
REASONS = {
    "empty_file": "the file has zero bytes",
    "unsupported_type": "not a photo or video type Photo Factory files",
    "unreadable": "the file could not be read (permissions or I/O error)",
    "undecodable": "the image data cannot be decoded",
    "truncated": "the file ends early (incomplete upload or copy)",
    "symlink": "a symbolic link: never followed, moved aside as a link",
    "not_regular_file": "a device, pipe or socket, not a file",
    "library_mismatch": "a library copy that no longer matches its recorded size",
    "ingest_error": "ingest failed repeatedly for an unexpected reason (see detail)",
}


class FileProblem(Exception):
    """A problem with the file itself: it goes to quarantine with ``reason``."""

    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


#: Files per ExifTool call inside a batch (reader threads work on later chunks meanwhile).
_CHUNK = 8


@dataclass
class Planned:
    """A same-filesystem move decided for a batch, done by :meth:`Ingestor._file_planned`."""

    path: Path
    row: dict[str, Any]
    sha: str
    size: int
    folder: PurePosixPath


class FileChanged(Exception):
    """The file changed while we looked at it: try again once it is stable."""


@dataclass
class Stats:
    ingested: int = 0
    duplicates_removed: int = 0
    duplicates_restored: int = 0
    quarantined: int = 0
    errors: int = 0
    last_error: str | None = None
    by_reason: dict[str, int] = field(default_factory=dict)


class Ingestor:
    def __init__(self, core: CoreSettings, settings: LibrarianSettings, store: LibrarianStore,
                 reader: metadata.MetadataReader):
        self.core = core
        self.settings = settings
        self.store = store
        self.reader = reader
        self.inbox = core.inbox_dir.resolve()
        self.storage = core.storage_dir.resolve()
        self.stats = Stats()
        self._batch_shas: set[str] = set()
        self._exdev_seen = False

    # -- helpers -----------------------------------------------------------------------
    def rel_inbox(self, path: Path) -> str:
        """The path relative to the inbox, as text the database can store."""
        try:
            rel = path.relative_to(self.inbox)
        except ValueError:
            rel = Path(path.name)
        return _db_text(str(PurePosixPath(*rel.parts)))

    def abs_storage(self, rel: str) -> Path:
        return self.storage / rel

    # -- the batch -----------------------------------------------------------------------
    def ingest_batch(self, paths: Sequence[Path]) -> list[tuple[Path, str]]:
        """Ingest stable files. Returns ``(path, outcome)`` pairs; database errors propagate
        (nothing half-done: the journal makes every step restartable)."""
        outcomes: list[tuple[Path, str]] = []
        regular: list[tuple[Path, os.stat_result]] = []
        for path in paths:
            try:
                st = self._precheck(path)
            except FileProblem as prob:
                outcomes.append((path, self.quarantine(path, prob.reason, prob.detail)))
                continue
            except FileNotFoundError:
                outcomes.append((path, "vanished"))
                continue
            regular.append((path, st))
        # Pipelined: SHA-256 in two threads (hashlib releases the GIL) and ExifTool in reader
        # threads run ahead on later chunks while this thread checks and plans earlier ones.
        hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sha256")
        planned: list[Planned] = []
        self._batch_shas = set()
        chunks = [regular[i:i + _CHUNK] for i in range(0, len(regular), _CHUNK)]
        try:
            digests = [hasher.submit(organize.sha256_file, p) for p, _ in regular]
            tag_futures = [self.reader.submit([p for p, _ in chunk]) for chunk in chunks]
            done = 0
            for chunk, tag_future in zip(chunks, tag_futures, strict=True):
                chunk_digests = digests[done:done + len(chunk)]
                done += len(chunk)
                tag_list = tag_future.result()
                known = self.store.find_by_shas(
                    [d.result()[0] for d in chunk_digests if d.exception() is None])
                for (path, st), tags, digest in zip(chunk, tag_list, chunk_digests, strict=True):
                    outcome = self._ingest_one(path, st, tags, digest, known, planned)
                    if outcome is not None:
                        outcomes.append((path, outcome))
        finally:
            hasher.shutdown(wait=True, cancel_futures=True)
        outcomes.extend(self._file_planned(planned))
        return outcomes

    def _ingest_one(self, path: Path, st: os.stat_result, tags: dict[str, Any],
                    digest: Future[tuple[str, int]], known: dict[str, dict],
                    planned: list[Planned]) -> str | None:
        """One file's outcome (quarantined, changed, vanished, …), or None when its move was
        planned for the batch; database errors propagate."""
        try:
            return self.ingest_file(path, st, tags, digest, known, planned)
        except FileProblem as prob:
            return self.quarantine(path, prob.reason, prob.detail)
        except FileChanged:
            return "changed"
        except FileNotFoundError:
            return "vanished"

    def _precheck(self, path: Path) -> os.stat_result:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            raise FileProblem("symlink", f"symbolic link to {_db_text(target)} (not followed)")
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem("not_regular_file", f"file mode {stat.filemode(st.st_mode)}")
        if st.st_size == 0:
            raise FileProblem("empty_file", "zero bytes")
        if not os.access(path, os.R_OK):
            raise FileProblem("unreadable", "no read permission")
        return st

    def ingest_file(self, path: Path, st: os.stat_result, tags: dict[str, Any],
                    digest: Future[tuple[str, int]] | None = None, known: dict[str, dict] | None = None,
                    planned: list[Planned] | None = None) -> str | None:
        """File one stable file; ``digest`` is its SHA-256 already being computed, ``known`` the
        batch's duplicate lookups. With ``planned``, an ordinary same-filesystem move is only
        planned (returns None) and done with the rest of the batch by :meth:`_file_planned`."""
        basics = metadata.basics(tags)
        file_type = (basics.file_type or "").upper()
        if tags.get("PF:Reader") != "exiftool" and not file_type:
            file_type = formats.type_from_extension(path.name) or ""
        media_type = formats.media_type(file_type)
        if media_type is None:
            why = basics.error or (f"file type {file_type}" if file_type else "unknown file type")
            raise FileProblem("unsupported_type", f"{why} (extension {path.suffix or 'none'})")
        if file_type in formats.PILLOW_CHECKED:
            prob = checks.problem(path, file_type)
            if prob:
                raise FileProblem(*prob)
        try:
            sha, size = digest.result() if digest is not None else organize.sha256_file(path)
        except PermissionError as exc:
            raise FileProblem("unreadable", f"cannot read: {exc.strerror}") from exc
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise FileProblem("unreadable", f"I/O error while reading: {exc.strerror}") from exc
        st2 = os.lstat(path)
        if (size, st2.st_size, st2.st_mtime_ns) != (st.st_size, st.st_size, st.st_mtime_ns):
            raise FileChanged(str(path))
        if sha in self._batch_shas:
            raise FileChanged(str(path))  # same content twice in one batch: a duplicate next round
        self._batch_shas.add(sha)
        existing = known.get(sha) if known is not None else self.store.find_by_sha(sha)
        if existing is not None:
            return self._duplicate(path, existing, sha)
        row = self.build_row(path, tags, sha, size, st.st_mtime, basics, file_type, media_type)
        row["source_path"] = self.rel_inbox(path)
        folder = PurePosixPath(row.pop("_folder"))
        if planned is not None and self._linkable(path, self.storage):
            planned.append(Planned(path, row, sha, size, folder))
            return None
        row["library_path"] = self.choose_destination(folder, row["original_name"])
        self._file_into_library(path, row["library_path"], sha, size, row)
        return self._filed(row)

    def _filed(self, row: dict[str, Any]) -> str:
        self.stats.ingested += 1
        log.info("filed %s as %s (%s)", row["source_path"], row["library_path"], row["date_source"])
        return "ingested"

    def build_row(self, path: Path, tags: dict[str, Any], sha: str, size: int, mtime: float,
                  basics: metadata.Basics, file_type: str, media_type: str) -> dict[str, Any]:
        when = dates.capture_time(tags, file_name=path.name, mtime=mtime, zone_name=self.core.timezone,
                                  min_year=self.settings.min_year)
        name = organize.safe_name(path.name)
        meta = metadata.curated(tags)
        if when.suspicious:  # a default clock or first_seen: the date_suspicious column follows
            meta["PF:SuspiciousDate"] = when.suspicious
        ext_type = formats.type_from_extension(path.name)
        if ext_type and ext_type != file_type and (ext_type, file_type) not in _COMPATIBLE:
            meta["PF:ExtensionMismatch"] = f"named {path.suffix}, content is {file_type}"
        return {
            "sha256": sha, "original_name": name, "size_bytes": size,
            "media_type": media_type, "mime_type": basics.mime_type, "file_type": file_type,
            "captured_at": when.utc, "captured_local": when.local, "capture_date": when.local.date(),
            "utc_offset_min": when.offset_minutes, "date_source": when.date_source,
            "tz_source": when.tz_source, "camera_make": basics.camera_make,
            "camera_model": basics.camera_model, "width": basics.width, "height": basics.height,
            "orientation": basics.orientation, "duration_s": basics.duration_s,
            "location": basics.location, "metadata": meta,
            "_folder": str(organize.day_folder(when.local.date())),
        }

    def choose_destination(self, folder: PurePosixPath, name: str, reserved: set[str] | None = None,
                           taken: set[str] | None = None) -> str:
        """The first free ``name``, ``name_1``, … in ``folder``: not on disk, not recorded, not
        in the journal, not ``reserved`` by this batch. ``taken``: names already known taken."""
        reserved = reserved or set()
        for i, cand in enumerate(organize.candidate_names(name)):
            rel = str(folder / cand)
            if rel in reserved or (taken is not None and rel in taken):
                continue
            if os.path.lexists(self.abs_storage(rel)):
                continue
            if (i > 0 or taken is None) and self.store.path_taken(rel):
                continue
            return rel
        raise RuntimeError(f"no free name for {name} in {folder}")

    def _file_planned(self, planned: list[Planned]) -> list[tuple[Path, str]]:
        """Move a batch of same-filesystem files with one journal transaction, one fsync per
        folder and one recording transaction (the same protocol as :meth:`_move`, batched).

        Database errors propagate (the journal finishes the batch later); a file that cannot be
        moved has its journal entry removed and the first such error is raised after the others
        were recorded, so the service retries that file alone."""
        if not planned:
            return []
        taken = self.store.taken_paths([str(p.folder / p.row["original_name"]) for p in planned])
        reserved: set[str] = set()
        for p in planned:
            p.row["library_path"] = self.choose_destination(p.folder, p.row["original_name"], reserved, taken)
            reserved.add(p.row["library_path"])
        jids = self.store.journal_add_many([
            ("file", organize.path_to_db(p.path), p.row["library_path"], None, p.sha,
             {"row": _jsonable(p.row), "asset_id": None}) for p in planned])
        done: list[tuple[Planned, int]] = []
        exdev: list[tuple[Planned, int]] = []
        folders: set[Path] = set()
        failed: list[tuple[int, BaseException]] = []
        for p, jid in zip(planned, jids, strict=True):
            dest = self.abs_storage(p.row["library_path"])
            try:
                organize.make_dirs(dest.parent)
                organize.fsync_file(p.path)
                organize.place(p.path, dest, sync_dirs=False)
            except OSError as exc:
                if exc.errno == errno.EXDEV:  # same device, different mounts: copy instead
                    self._note_exdev(exc)
                    exdev.append((p, jid))
                    continue
                failed.append((jid, exc))
                continue
            folders.update((dest.parent, p.path.parent))
            done.append((p, jid))
        for folder in folders:
            organize.fsync_dir(folder)
        self.store.record_assets([(p.row, jid) for p, jid in done])
        for jid, _ in failed:
            self.store.journal_delete(jid)
        results = [(p.path, self._filed(p.row)) for p, _ in done]
        for p, jid in exdev:
            self.store.journal_delete(jid)  # nothing moved; the copy journals itself
            self._file_into_library(p.path, p.row["library_path"], p.sha, p.size, p.row)
            results.append((p.path, self._filed(p.row)))
        if failed:
            raise failed[0][1]
        return results

    # -- moving --------------------------------------------------------------------------
    def _linkable(self, src: Path, dest_dir: Path) -> bool:
        """Can ``src`` be linked into ``dest_dir``? Same device, unless a link already failed with
        EXDEV (two bind mounts of one disk — the usual Docker layout — share st_dev but refuse
        links between them)."""
        return not self._exdev_seen and organize.same_device(src, dest_dir)

    def _note_exdev(self, exc: OSError) -> None:
        if not self._exdev_seen:
            log.info("inbox and storage are different mounts of one device (%s): copying from now on",
                     exc.strerror)
        self._exdev_seen = True

    def _file_into_library(self, src: Path, dest_rel: str, sha: str, size: int,
                           row: dict[str, Any] | None, action: str = "file",
                           asset_id: int | None = None) -> None:
        payload = {"row": _jsonable(row) if row else None, "asset_id": asset_id}
        src_rel = self.rel_inbox(src)
        self._move(src, dest_rel, action, payload, sha, size,
                   lambda jid: self._record(row, jid, action, asset_id, src_rel=src_rel))

    def _move(self, src: Path, dest_rel: str, action: str, payload: dict, sha: str | None,
              size: int | None, record: Any) -> None:
        """Journal, move (rename, or verified copy then delete the source), then record
        (``record(journal_id)`` also clears the journal entry). Raises FileExistsError if the
        destination appeared meanwhile."""
        dest = self.abs_storage(dest_rel)
        organize.make_dirs(dest.parent)
        same = self._linkable(src, dest.parent)
        temp = None if same else organize.temp_name(dest)
        jid = self.store.journal_add(action, organize.path_to_db(src), dest_rel, sha256=sha, payload=payload,
                                     temp_rel=str(temp.relative_to(self.storage)) if temp else None)
        if same:
            if not os.path.islink(src):
                organize.fsync_file(src)
            try:
                organize.place(src, dest)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                self.store.journal_delete(jid)  # nothing moved: start again as a copy
                self._note_exdev(exc)
                return self._move(src, dest_rel, action, payload, sha, size, record)
            record(jid)
            return
        assert temp is not None
        try:
            if sha is None or size is None:
                sha, size = organize.sha256_file(src)
            organize.copy_verified(src, temp, sha, size)
            organize.place(temp, dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            self.store.journal_delete(jid)
            raise
        # The copy is verified and durable: drop the source before recording, as the same-device
        # path does, so a crash in between is finished by the journal. Recording first left a
        # window where the journal was gone but the source still in the inbox, and a quarantined
        # file was then quarantined a second time (found by the kill -9 fault injection tests).
        src.unlink()
        organize.fsync_dir(src.parent)
        record(jid)

    def _record(self, row: dict[str, Any] | None, jid: int, action: str, asset_id: int | None,
                src_rel: str) -> None:
        if action == "file":
            assert row is not None
            self.store.record_asset(row, jid)
        elif action == "restore":
            self.store.record_event("duplicate_restored", asset_id=asset_id, source_path=src_rel,
                                    journal_id=jid)

    def _duplicate(self, path: Path, existing: dict, sha: str) -> str:
        lib = self.abs_storage(existing["library_path"])
        src_rel = self.rel_inbox(path)
        try:
            lib_size = os.stat(lib).st_size
        except FileNotFoundError:
            lib_size = None
        if lib_size == existing["size_bytes"]:
            path.unlink()
            organize.fsync_dir(path.parent)
            self.store.record_event("duplicate_removed", asset_id=existing["id"], source_path=src_rel,
                                    detail={"library_path": existing["library_path"]})
            self.stats.duplicates_removed += 1
            log.info("asset %s: duplicate %s removed from the inbox (library copy confirmed)",
                     existing["id"], src_rel)
            return "duplicate_removed"
        if lib_size is not None:  # a library copy that no longer matches: set it aside first
            self._quarantine_library_copy(lib, existing)
        self._file_into_library(path, existing["library_path"], sha, existing["size_bytes"], None,
                                action="restore", asset_id=existing["id"])
        self.stats.duplicates_restored += 1
        log.warning("asset %s: library copy was missing; restored it from inbox file %s",
                    existing["id"], src_rel)
        return "duplicate_restored"

    def _quarantine_library_copy(self, lib: Path, existing: dict) -> None:
        rel = self._quarantine_rel("library_mismatch", lib.name)
        dest = self.abs_storage(rel)
        organize.make_dirs(dest.parent)
        jid = self.store.journal_add("quarantine", organize.path_to_db(lib), rel,
                                     payload={"reason": "library_mismatch"})
        organize.place(lib, dest)
        self.store.record_quarantine({
            "reason": "library_mismatch",
            "detail": f"asset {existing['id']}: size differs from the recorded {existing['size_bytes']} bytes",
            "source_path": existing["library_path"], "quarantine_path": rel,
            "original_name": lib.name, "size_bytes": None, "sha256": None}, jid)

    # -- quarantine ----------------------------------------------------------------------
    def _quarantine_rel(self, reason: str, name: str) -> str:
        folder = PurePosixPath("Quarantine", reason, f"{datetime.now(UTC):%Y-%m-%d}")
        return self.choose_destination(folder, organize.safe_name(name))

    def quarantine(self, path: Path, reason: str, detail: str) -> str:
        """Move ``path`` (never following it) to ``Quarantine/<reason>/<day>/`` and record why."""
        src_rel = self.rel_inbox(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "vanished"
        rel = self._quarantine_rel(reason, path.name)
        q = {"reason": reason, "detail": _db_text(detail)[:2000], "source_path": src_rel,
             "quarantine_path": rel, "original_name": organize.safe_name(path.name),
             "size_bytes": st.st_size, "sha256": None}
        if stat.S_ISREG(st.st_mode):
            self._move(path, rel, "quarantine", {"q": q}, None, None,
                       lambda jid: self.store.record_quarantine(q, jid))
        else:  # a link (moved as a link, never followed) or a special file: rename only
            dest = self.abs_storage(rel)
            organize.make_dirs(dest.parent)
            jid = self.store.journal_add("quarantine", organize.path_to_db(path), rel, payload={"q": q})
            try:
                _rename_no_clobber(path, dest)
            except OSError:
                self.store.journal_delete(jid)
                raise
            self.store.record_quarantine(q, jid)
        self.stats.quarantined += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        log.warning("quarantined %s as %s: %s", src_rel, reason, detail)
        return f"quarantined:{reason}"

    def release_retries(self) -> list[Path]:
        """Move quarantined files whose retry was requested (dashboard) back into the inbox,
        where they are ingested again like new files. Returns their new inbox paths."""
        back: list[Path] = []
        for q in self.store.retry_requested():
            src = self.abs_storage(q["quarantine_path"])
            target = self.inbox / q["source_path"]
            if os.path.lexists(src):
                organize.make_dirs(target.parent)
                for cand in organize.candidate_names(target.name):
                    t = target.with_name(cand)
                    if not os.path.lexists(t):
                        _rename_no_clobber(src, t)
                        back.append(t)
                        break
            self.store.release_quarantine(q["id"])
            log.info("quarantine %s: retry requested, moved back to the inbox", q["id"])
        return back

    # -- crash recovery (librarian/recovery.py) ------------------------------------------
    def reconcile(self) -> int:
        """Finish or undo every move a crash left in the journal. Returns entries handled."""
        return recovery.reconcile(self)

    def reconcile_library(self) -> dict[str, int]:
        """Library files without a row are registered; rows without a file are reported once."""
        return recovery.reconcile_library(self)

    def register_library_file(self, path: Path, event: str = "registered_orphan") -> int | None:
        """Record a file already in the library that has no row (start-up and restore)."""
        return recovery.register_library_file(self, path, event)


_COMPATIBLE = {("JPEG", "MPO"), ("TIFF", "DNG"), ("HEIF", "HEIC"), ("HEIC", "HEIF"), ("MP4", "M4V"),
               ("M4V", "MP4"), ("MP4", "MOV"), ("MOV", "MP4"), ("3GP", "MP4"), ("MP4", "3GP")}


def _db_text(s: str) -> str:
    return os.fsencode(s).decode("utf-8", errors="replace").replace("\x00", "")


def _rename_no_clobber(src: Path, dest: Path) -> None:
    """Rename a link or special file (never following it); across devices a link is re-created."""
    if os.path.lexists(dest):
        raise FileExistsError(dest)
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV or not os.path.islink(src):
            raise
        os.symlink(os.readlink(src), dest)
        os.unlink(src)
    organize.fsync_dir(dest.parent)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k.startswith("_"):
            continue
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out

