"""Ingest: from a stable inbox file to a durable, verified, recorded library file.

Order for every file (nothing moves before the database has the intent):
  1. checks — symlink / not a regular file / empty / unsupported type / undecodable → quarantine;
  2. SHA-256 (1 MiB chunks) — an exact duplicate is removed from the inbox only once its library
     copy is confirmed by its SHA-256, else this copy is put back in its place (a copy that no
     longer matches is set aside to quarantine first: bit rot);
  3. capture time and destination ``Library/YYYY/YYYY-MM-DD/<name>`` (``_1``, ``_2`` on collisions);
  4. the move is written to ``ingest_journal`` (committed), then performed (see organize.py),
     then the asset row, its event and the journal deletion commit in one transaction.
:meth:`Ingestor.reconcile` finishes or undoes whatever a crash left in the journal.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from librarian import (
    attach,
    checks,
    dates,
    formats,
    grouping,
    groups,
    metadata,
    organize,
    recovery,
    sidecar_meta,
    speculate,
    tzmap,
    waiting,
)
from librarian.settings import LibrarianSettings
from librarian.store import LibrarianStore
from photo_factory import db
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
    "library_mismatch": "a library copy that no longer matches its recorded content",
    "ingest_error": "ingest failed repeatedly for an unexpected reason (see detail)",
    "orphan_sidecar": "a sidecar whose photo did not arrive in time (re-attached when it does)",
}

#: Events added by migration 0008 (the rest are in 0006).
EVENTS = {
    "journal_set_aside": "a journal entry that could not be replayed, kept in the event (files untouched)",
    "source_not_removed": "filed or quarantined, but the inbox file could not be removed (kept, never taken again)",
    "left_in_inbox": "could not be moved out of the inbox (e.g. unreadable across devices): recorded, left alone",
    "bit_rot": "a library copy no longer matches its SHA-256: set aside and replaced by a good copy",
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
#: Files moved with one journal commit, one round of folder fsyncs and one record commit, at
#: most: a chunk alone while the filing keeps up (the stage workers get the first assets early);
#: the chunks planned while the one before is being filed join it (the filing is behind: its
#: durable waits, three per filing, were most of a burst's time after the imports).
_FILE_AT_ONCE = 64


class _Filer:
    """Files a batch's planned moves (:meth:`Ingestor._file_planned`) in a thread of its own, in
    the order planned, one filing at a time: a chunk's durable waits (journal commit, links,
    folder fsyncs, record commits) overlap the reading, hashing and planning of the next ones.
    Chunks planned while one is being filed join the next filing (its journal commit and round
    of folder fsyncs), up to :data:`_FILE_AT_ONCE` files; beyond that the planning waits."""

    def __init__(self, file: Callable[[list[Planned]], list[tuple[Path, str]]]):
        self._file = file
        self._pool: ThreadPoolExecutor | None = None
        self._running: Future[list[tuple[Path, str]]] | None = None
        self._waiting: list[Planned] = []
        self._outcomes: list[tuple[Path, str]] = []

    def add(self, planned: list[Planned]) -> None:
        """Queue a chunk; start filing it unless a filing is under way (then it joins the next).
        Raises the error of a filing that ended with one."""
        self._waiting.extend(planned)
        if self._running is not None and not self._running.done() and len(self._waiting) < _FILE_AT_ONCE:
            return
        self._start()

    def _start(self) -> None:
        self._collect()
        if self._waiting:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="filing")
            todo, self._waiting = self._waiting, []
            self._running = self._pool.submit(self._file, todo)

    def _collect(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            self._outcomes.extend(running.result())

    def finish(self) -> list[tuple[Path, str]]:
        """File what is queued; every outcome once all filings have ended."""
        self._start()
        self._collect()
        return self._outcomes

    def close(self) -> None:
        """Wait for a filing still under way (after an error elsewhere: it never outlives the
        batch, so the journal replay that follows an error sees every move it made)."""
        if self._running is not None:
            wait([self._running])
        if self._pool is not None:
            self._pool.shutdown(wait=True)


@dataclass
class Planned:
    """A same-filesystem move decided for a batch, done by :meth:`Ingestor._file_planned`."""

    path: Path
    row: dict[str, Any]
    sha: str
    size: int
    folder: PurePosixPath
    snap: organize.Snapshot
    #: filed by a verified copy (another device, or a file with other hard links)
    copy: bool = False


class FileChanged(Exception):
    """The file changed while we looked at it: try again once it is stable."""


class FileIncomplete(Exception):
    """The file ends early and its grace period is not over: it waits in the inbox."""


@dataclass
class Stats:
    ingested: int = 0
    duplicates_removed: int = 0
    duplicates_restored: int = 0
    quarantined: int = 0
    errors: int = 0
    last_error: str | None = None
    by_reason: dict[str, int] = field(default_factory=dict)
    #: Inbox files that stay there, recorded (filed but not removable, or not movable at all).
    kept: set[Path] = field(default_factory=set)


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
        #: batch files fsynced when they were hashed (:meth:`_hash`)
        self._synced: set[Path] = set()
        self._exdev_seen = False
        self.waiting = waiting.Waiting(settings.incomplete_grace_seconds)
        self.sidecars = attach.Sidecars(self, settings.sidecar_wait_seconds)
        #: results read ahead while files settled (the service sets it: librarian/speculate.py)
        self.speculation: speculate.Speculation | None = None

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
        kept = self.store.kept_sources([self.rel_inbox(p) for p in paths])
        for path in paths:
            try:
                if kept and (known_outcome := self._kept_source(path, kept)) is not None:
                    outcomes.append((path, known_outcome))
                    continue
                st = self._precheck(path)
            except FileProblem as prob:
                outcomes.append((path, self.quarantine(path, prob.reason, prob.detail)))
                continue
            except FileNotFoundError:
                outcomes.append((path, "vanished"))
                continue
            regular.append((path, st))
        regular, side = self.sidecars.split(regular)  # sidecars travel with their photos (attach.py)
        self.sidecars.prepare([p for p, _ in regular], side)
        # Pipelined: SHA-256 in two threads (hashlib releases the GIL) and ExifTool in reader
        # threads run ahead on later chunks while this thread checks and plans earlier ones.
        hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sha256")
        filer = _Filer(self._file_planned)
        self._batch_shas = set()
        chunks = [regular[i:i + _CHUNK] for i in range(0, len(regular), _CHUNK)]
        self._synced = set()
        try:
            digests = [self._digest(hasher, p, st) for p, st in regular]
            tag_futures = [self._tags(chunk) for chunk in chunks]
            done = looked = 0
            known: dict[str, dict] = {}
            for chunk, tag_future in zip(chunks, tag_futures, strict=True):
                chunk_digests = digests[done:done + len(chunk)]
                done += len(chunk)
                tag_list = tag_future.result()
                if looked < done:  # this chunk's contents, and those of every file hashed since
                    ahead = done
                    while ahead < len(digests) and digests[ahead].done():
                        ahead += 1
                    known.update(self.store.find_by_shas(
                        [d.result()[0] for d in digests[looked:ahead] if d.exception() is None]))
                    looked = ahead
                planned: list[Planned] = []
                for (path, st), tags, digest in zip(chunk, tag_list, chunk_digests, strict=True):
                    outcome = self._ingest_one(path, st, tags, digest, known, planned)
                    if outcome is not None:
                        outcomes.append((path, outcome))
                # filed and recorded chunk by chunk, by the filing thread while this one reads
                # the next: the stage workers get the first assets after one chunk, not after
                # the whole batch
                filer.add(planned)
            outcomes.extend(filer.finish())
        finally:
            filer.close()
            hasher.shutdown(wait=True, cancel_futures=True)
        outcomes.extend(self.sidecars.finish(side))
        return outcomes

    def _digest(self, hasher: ThreadPoolExecutor, path: Path, st: os.stat_result) -> Future[tuple[str, int]]:
        """A batch file's SHA-256: read ahead while it settled (librarian/speculate.py) if it is
        unchanged since, else hashed now."""
        if self.speculation is None:
            return hasher.submit(self._hash, path)
        return self.speculation.digest(path, st, self._synced, lambda p: hasher.submit(self._hash, p))

    def _tags(self, chunk: list[tuple[Path, os.stat_result]]) -> Future[list[dict[str, Any]]]:
        """A chunk's tags: read ahead while its files settled where they are unchanged, else now."""
        if self.speculation is None:
            return self.reader.submit([p for p, _ in chunk])
        return self.speculation.tags(chunk)

    def _hash(self, path: Path) -> tuple[str, int]:
        """SHA-256 of a batch file, made durable first in the hashing thread (fsyncs of several
        files overlap there, and share journal commits), not one by one before its link."""
        sha, size, synced = organize.sha256_synced(path)
        if synced:
            self._synced.add(path)
        return sha, size

    def _ingest_one(self, path: Path, st: os.stat_result, tags: dict[str, Any],
                    digest: Future[tuple[str, int]], known: dict[str, dict],
                    planned: list[Planned]) -> str | None:
        """One file's outcome (quarantined, changed, vanished, …), or None when its move was
        planned for the batch; database errors propagate."""
        try:
            return self.ingest_file(path, st, tags, digest, known, planned)
        except FileProblem as prob:
            return self.quarantine(path, prob.reason, prob.detail)
        except (FileChanged, organize.SourceChanged):
            return "changed"
        except FileIncomplete:
            return "incomplete"
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
        try:  # os.access is not enough: it says yes to root, and ACLs or a FUSE mount may differ
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW))
        except PermissionError as exc:
            raise FileProblem("unreadable", f"cannot open: {exc.strerror}") from exc
        return st

    def _kept_source(self, path: Path, kept: dict[str, list[dict]]) -> str | None:
        """An inbox file recorded as filed-but-not-removable or left in the inbox, unchanged
        since: never taken again (the removal is simply retried). None: not such a file."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self.stats.kept.discard(path)
            return "vanished"
        for rec in kept.get(self.rel_inbox(path), []):
            sig = rec.get("signature") or {}
            if [sig.get("ino"), sig.get("size"), sig.get("mtime_ns")] != [st.st_ino, st.st_size, st.st_mtime_ns]:
                continue
            if rec["kind"] == "left_in_inbox":
                if sig.get("ctime_ns") != st.st_ctime_ns:
                    break  # chmod, chown: look at it again
                self.stats.kept.add(path)
                return "kept"
            if organize.remove_source(path, organize.Snapshot.of(st)) is None:
                log.info("%s: the kept inbox copy of a filed file could be removed now", self.rel_inbox(path))
                self.stats.kept.discard(path)
                return "source_removed"
            self.stats.kept.add(path)
            return "kept"
        self.stats.kept.discard(path)
        return None

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
        found = checks.examine(path, file_type, self.settings.check_decode_megabytes << 20)
        if found.incomplete:
            if not self.waiting.overdue(path, st, found.incomplete):
                raise FileIncomplete(found.incomplete)
            if not found.still_whole:
                raise FileProblem("truncated", f"{found.incomplete} (unchanged for "
                                               f"{self.settings.incomplete_grace_seconds:.0f}s)")
            # a motion photo cut in its video is still a whole photo: filed (issue 12)
            found = checks.examine_still(path, file_type, self.settings.check_decode_megabytes << 20)
        if found.problem:
            raise FileProblem(*found.problem)
        try:
            sha, size = digest.result() if digest is not None else organize.sha256_file(path)
        except PermissionError as exc:
            raise FileProblem("unreadable", f"cannot read: {exc.strerror}") from exc
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise FileProblem("unreadable", f"I/O error while reading: {exc.strerror}") from exc
        snap = organize.Snapshot.of(st)
        if size != st.st_size or not snap.unchanged(os.lstat(path)):
            raise FileChanged(str(path))  # replaced or modified while it was read: next round
        if sha in self._batch_shas:
            raise FileChanged(str(path))  # same content twice in one batch: a duplicate next round
        self._batch_shas.add(sha)
        existing = known.get(sha) if known is not None else self.store.find_by_sha(sha)
        if existing is not None:
            outcome = self._duplicate(path, existing, sha, snap)
            if outcome in ("duplicate_removed", "duplicate_restored"):  # its new sidecars attach to it
                self.sidecars.photo_done(path, existing["id"], existing["library_path"], sha)
            return outcome
        row = self.build_row(path, tags, sha, size, st.st_mtime, basics, file_type, media_type)
        row["source_path"] = self.rel_inbox(path)
        folder = PurePosixPath(row.pop("_folder"))
        if planned is not None:  # decided with the batch (groups are filed together)
            planned.append(Planned(path, row, sha, size, folder, snap,
                                   copy=not self._linkable(path, self.storage, st)))
            return None
        row["library_path"] = self.choose_destination(folder, row["original_name"])
        self._file_into_library(path, row["library_path"], sha, size, row, snap=snap)
        return self._filed(row, path)

    def _filed(self, row: dict[str, Any], path: Path | None = None) -> str:
        if path is not None:
            self.sidecars.photo_done(path, None, row["library_path"], row["sha256"])
        self.stats.ingested += 1
        log.info("filed %s as %s (%s)", row["source_path"], row["library_path"], row["date_source"])
        return "ingested"

    def build_row(self, path: Path, tags: dict[str, Any], sha: str, size: int, mtime: float,
                  basics: metadata.Basics, file_type: str, media_type: str) -> dict[str, Any]:
        facts = self.sidecars.facts_for(path)  # what its sidecars say (XMP, Takeout JSON, album)
        where = sidecar_meta.location(basics.location, facts)
        zone = tzmap.lazy_zone(where)
        when = dates.capture_time(tags, file_name=path.name, mtime=mtime, zone_name=self.core.timezone,
                                  min_year=self.settings.min_year, position_zone=zone)
        if facts:
            when = sidecar_meta.decide(when, facts, zone_name=self.core.timezone, min_year=self.settings.min_year,
                                       position_zone=zone)
        name = organize.safe_name(path.name)
        meta = sidecar_meta.apply(metadata.curated(tags), facts)
        meta.update(groups.identity(tags))  # ContentIdentifier, BurstUUID, sub-seconds (librarian/groups.py)
        if when.suspicious:  # a default clock or first_seen: the date_suspicious column follows
            meta["PF:SuspiciousDate"] = when.suspicious
        ext_type = formats.type_from_extension(path.name)
        if ext_type and ext_type != file_type and (ext_type, file_type) not in _COMPATIBLE:
            meta["PF:ExtensionMismatch"] = f"named {path.suffix}, content is {file_type}"
        return {
            "sha256": sha, "original_name": name, "original_name_raw": organize.name_to_db(path.name),
            "size_bytes": size,
            "media_type": media_type, "mime_type": basics.mime_type, "file_type": file_type,
            "captured_at": when.utc, "captured_local": when.local, "capture_date": when.local.date(),
            "utc_offset_min": when.offset_minutes, "date_source": when.date_source,
            "tz_source": when.tz_source, "camera_make": basics.camera_make,
            "camera_model": basics.camera_model, "width": basics.width, "height": basics.height,
            "orientation": basics.orientation, "duration_s": basics.duration_s,
            "location": where, "metadata": meta,
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
        grouping.prepare(self, planned)  # groups: one folder and one collision suffix for all
        taken = self.store.taken_paths([str(p.folder / p.row["original_name"]) for p in planned])
        grouping.choose_destinations(self, planned, taken)
        copy: list[tuple[Planned, int | None]] = [(p, None) for p in planned if p.copy]
        planned = [p for p in planned if not p.copy]
        jids = self.store.journal_add_many([
            ("file", organize.path_to_db(p.path), p.row["library_path"], None, p.sha,
             {"row": _jsonable(p.row), "asset_id": None}) for p in planned])
        done: list[tuple[Planned, int]] = []
        changed: list[tuple[Planned, int]] = []
        folders: set[Path] = set()  # fsynced once each after every link, before the record
        failed: list[tuple[int, BaseException]] = []
        for p, jid in zip(planned, jids, strict=True):
            dest = self.abs_storage(p.row["library_path"])
            try:
                organize.make_dirs(dest.parent, folders)
                if p.path not in self._synced:  # durable before the link (synced when hashed)
                    organize.fsync_file(p.path)
                organize.place(p.path, dest, sync_dirs=False, expect=p.snap)
            except organize.SourceChanged:
                changed.append((p, jid))  # not what was hashed: nothing moved, next round
                continue
            except organize.CannotRemoveSource as exc:
                log.info("%s cannot be removed from the inbox (%s): filing a copy", p.row["source_path"],
                         exc.strerror)
                copy.append((p, jid))
                continue
            except OSError as exc:
                if exc.errno == errno.EXDEV:  # same device, different mounts: copy instead
                    self._note_exdev(exc)
                    copy.append((p, jid))
                    continue
                failed.append((jid, exc))
                continue
            folders.update((dest.parent, p.path.parent))
            done.append((p, jid))
        organize.fsync_dirs(folders)
        # one recording transaction (and NOTIFY) per filing: a chunk alone while the filing keeps
        # up, so the stage workers get the first assets after one chunk; chunks that joined a
        # filing share its commit (each is a wait for the disk, ~10 ms on an SD card)
        self.store.record_assets([(p.row, jid) for p, jid in done])
        for jid in [j for j, _ in failed] + [j for _, j in changed]:
            self.store.journal_delete(jid)
        results = [(p.path, self._filed(p.row, p.path)) for p, _ in done]
        results += [(p.path, "changed") for p, _ in changed]
        for p, cjid in copy:
            if cjid is not None:
                self.store.journal_delete(cjid)  # nothing moved; the copy journals itself
            try:
                self._file_into_library(p.path, p.row["library_path"], p.sha, p.size, p.row, snap=p.snap,
                                        copy=True)
            except organize.SourceChanged:
                results.append((p.path, "changed"))
                continue
            except FileNotFoundError:
                results.append((p.path, "vanished"))
                continue
            except OSError as exc:  # raised after the others are recorded: the service retries it alone
                failed.append((-1, exc))
                continue
            results.append((p.path, self._filed(p.row, p.path)))
        if failed:
            raise failed[0][1]
        return results

    # -- moving --------------------------------------------------------------------------
    def _linkable(self, src: Path, dest_dir: Path, st: os.stat_result | None) -> bool:
        """Can ``src`` be linked into ``dest_dir``? Same device, unless a link already failed with
        EXDEV (two bind mounts of one disk — the usual Docker layout — share st_dev but refuse
        links between them), and only the inbox's own name of it: a file with other hard links
        (``st_nlink > 1``, e.g. one outside the inbox) is copied, so editing the other name can
        never change the library original."""
        if st is not None and st.st_nlink > 1 and stat.S_ISREG(st.st_mode):
            return False
        return not self._exdev_seen and organize.same_device(src, dest_dir)

    def _note_exdev(self, exc: OSError) -> None:
        if not self._exdev_seen:
            log.info("inbox and storage are different mounts of one device (%s): copying from now on",
                     exc.strerror)
        self._exdev_seen = True

    def _file_into_library(self, src: Path, dest_rel: str, sha: str, size: int,
                           row: dict[str, Any] | None, action: str = "file",
                           asset_id: int | None = None, snap: organize.Snapshot | None = None,
                           copy: bool = False) -> None:
        payload = {"row": _jsonable(row) if row else None, "asset_id": asset_id}
        src_rel = self.rel_inbox(src)
        self._move(src, dest_rel, action, payload, sha, size,
                   lambda jid: self._record(row, jid, action, asset_id, src_rel=src_rel), snap=snap, copy=copy)

    def _move(self, src: Path, dest_rel: str, action: str, payload: dict, sha: str | None,
              size: int | None, record: Any, snap: organize.Snapshot | None = None,
              copy: bool = False) -> None:
        """Journal, move (link, or verified copy then delete the source), then record
        (``record(journal_id)`` also clears the journal entry). Raises FileExistsError if the
        destination appeared meanwhile, :class:`organize.SourceChanged` (nothing moved, journal
        cleared) when the source is no longer the file ``snap`` saw. A source that cannot be
        removed is filed by copy and recorded as kept (never taken again)."""
        dest = self.abs_storage(dest_rel)
        organize.make_dirs(dest.parent)
        same = not copy and self._linkable(src, dest.parent, os.lstat(src))
        temp = None if same else organize.temp_name(dest)
        jid = self.store.journal_add(action, organize.path_to_db(src), dest_rel, sha256=sha, payload=payload,
                                     temp_rel=str(temp.relative_to(self.storage)) if temp else None)
        if same:
            _fsync_if_readable(src)
            try:
                organize.place(src, dest, expect=snap)
            except organize.SourceChanged:
                self.store.journal_delete(jid)  # the link was undone: nothing moved
                raise
            except organize.CannotRemoveSource:
                self.store.journal_delete(jid)  # the link was undone: file a copy instead
                return self._move(src, dest_rel, action, payload, sha, size, record, snap, copy=True)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise  # the journal entry stays: the replay finishes or undoes the move
                self.store.journal_delete(jid)  # nothing moved: start again as a copy
                self._note_exdev(exc)
                return self._move(src, dest_rel, action, payload, sha, size, record, snap, copy=True)
            record(jid)
            return
        assert temp is not None
        try:
            if sha is None or size is None:
                sha, size = organize.sha256_file(src)
            organize.copy_verified(src, temp, sha, size, expect=snap)
            organize.place(temp, dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            self.store.journal_delete(jid)
            raise
        # The copy is verified and durable: drop the source before recording, as the same-device
        # path does, so a crash in between is finished by the journal. Recording first left a
        # window where the journal was gone but the source still in the inbox, and a quarantined
        # file was then quarantined a second time (found by the kill -9 fault injection tests).
        kept = organize.remove_source(src, snap)
        if kept is not None:  # recorded before the move is, so a crash never takes it twice
            self.source_kept(src, kept, dest_rel, snap)
        record(jid)

    def source_kept(self, src: Path, why: OSError, dest_rel: str, snap: organize.Snapshot | None) -> None:
        """Record (once) that ``src`` is filed as ``dest_rel`` but stays in the inbox: it is never
        taken again while unchanged, and its removal is retried on every pass."""
        if isinstance(why, FileExistsError):
            return  # the name holds a newer file now: that one is a new candidate
        st = os.lstat(src)
        src_rel = self.rel_inbox(src)
        self.stats.kept.add(src)
        if self.store.kept_source_recorded(src_rel, st.st_ino):
            return
        self.store.record_event("source_not_removed", source_path=src_rel, detail={
            "filed_as": dest_rel, "error": why.strerror or str(why), "source_raw": organize.path_to_db(src),
            "signature": {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}})
        log.warning("%s is filed as %s but cannot be removed from the inbox (%s): kept there, "
                    "never taken again", src_rel, dest_rel, why.strerror or why)

    def _left_in_inbox(self, path: Path, st: os.stat_result, reason: str, detail: str) -> str:
        """Record (once) a file that cannot be moved out of the inbox at all; it stays until it
        changes (a chmod, a new version), then it is looked at again."""
        src_rel = self.rel_inbox(path)
        self.stats.kept.add(path)
        if not self.store.kept_source_recorded(src_rel, st.st_ino, st.st_ctime_ns):
            self.store.record_event("left_in_inbox", source_path=src_rel, detail={
                "reason": reason, "detail": _db_text(detail)[:2000], "source_raw": organize.path_to_db(path),
                "signature": {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "ctime_ns": st.st_ctime_ns}})
            log.error("%s (%s: %s) cannot be moved out of the inbox: left there and recorded",
                      src_rel, reason, detail)
        return "left_in_inbox"

    def _record(self, row: dict[str, Any] | None, jid: int, action: str, asset_id: int | None,
                src_rel: str) -> None:
        if action == "file":
            assert row is not None
            self.store.record_asset(row, jid)
        elif action == "restore":
            self.store.record_event("duplicate_restored", asset_id=asset_id, source_path=src_rel,
                                    journal_id=jid)

    def _duplicate(self, path: Path, existing: dict, sha: str, snap: organize.Snapshot) -> str:
        """An inbox file whose content is recorded: removed only once the library copy is
        confirmed by its SHA-256; a missing copy is restored from it, a copy that no longer
        matches (bit rot, an edit in place) is set aside to quarantine and then restored."""
        lib = self.abs_storage(existing["library_path"])
        src_rel = self.rel_inbox(path)
        try:
            lib_sha: str | None = organize.sha256_file(lib)[0]
        except FileNotFoundError:
            lib_sha = None
        except (organize.SourceChanged, OSError) as exc:  # a link or a node where the file was
            if not os.path.lexists(lib):
                raise
            lib_sha = f"not a readable regular file: {exc}"
        if lib_sha == sha:
            kept = organize.remove_source(path, snap)
            if kept is not None:
                self.source_kept(path, kept, existing["library_path"], snap)
                return "kept" if not isinstance(kept, FileExistsError) else "changed"
            self.store.record_event("duplicate_removed", asset_id=existing["id"], source_path=src_rel,
                                    detail={"library_path": existing["library_path"]})
            self.stats.duplicates_removed += 1
            log.info("asset %s: duplicate %s removed from the inbox (library copy confirmed by SHA-256)",
                     existing["id"], src_rel)
            return "duplicate_removed"
        if lib_sha is not None:  # a library copy that no longer matches: set it aside first
            self._quarantine_library_copy(lib, existing, lib_sha)
        self._file_into_library(path, existing["library_path"], sha, existing["size_bytes"], None,
                                action="restore", asset_id=existing["id"], snap=snap)
        self.stats.duplicates_restored += 1
        log.warning("asset %s: library copy was %s; restored it from inbox file %s", existing["id"],
                    "missing" if lib_sha is None else "damaged", src_rel)
        return "duplicate_restored"

    def _quarantine_library_copy(self, lib: Path, existing: dict, found_sha: str) -> None:
        """Set a library copy that no longer matches its row aside (``library_mismatch``) and
        report it as bit rot; the caller then restores the good copy under the same name."""
        rel = self._quarantine_rel("library_mismatch", lib.name)
        st = os.lstat(lib)
        q = {"reason": "library_mismatch",
             "detail": f"asset {existing['id']}: SHA-256 {found_sha[:16]}… differs from the recorded "
                       f"{existing['sha256'][:16]}… (bit rot or an edit in place)",
             "source_path": existing["library_path"], "quarantine_path": rel,
             "original_name": lib.name, "original_name_raw": organize.name_to_db(lib.name),
             "size_bytes": st.st_size, "sha256": found_sha if len(found_sha) == 64 else None}
        log.error("asset %s: BIT ROT: library copy %s no longer matches its SHA-256; set aside as %s",
                  existing["id"], existing["library_path"], rel)
        self.store.record_event("bit_rot", asset_id=existing["id"], source_path=existing["library_path"],
                                detail={"library_path": existing["library_path"], "recorded_sha256":
                                        existing["sha256"], "found_sha256": found_sha, "quarantine_path": rel})
        if stat.S_ISREG(st.st_mode):
            self._move(lib, rel, "quarantine", {"q": q}, q["sha256"], st.st_size,
                       lambda jid: self.store.record_quarantine(q, jid), snap=organize.Snapshot.of(st))
        else:
            self._quarantine_entry(lib, rel, q)

    # -- quarantine ----------------------------------------------------------------------
    def _quarantine_rel(self, reason: str, name: str) -> str:
        folder = PurePosixPath("Quarantine", reason, f"{datetime.now(UTC):%Y-%m-%d}")
        return self.choose_destination(folder, organize.safe_name(name))

    def quarantine(self, path: Path, reason: str, detail: str) -> str:
        """Move ``path`` (never following it) to ``Quarantine/<reason>/<day>/`` and record why.

        Regular files move like filed ones (journaled link, or verified copy); links, pipes and
        sockets are renamed, or across devices re-created as the same kind of node (they have no
        content to copy). What cannot leave the inbox at all (a file the service cannot read on
        another device, a device node it may not create) is recorded once and left alone."""
        src_rel = self.rel_inbox(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "vanished"
        rel = self._quarantine_rel(reason, path.name)
        q = {"reason": reason, "detail": _db_text(detail)[:2000], "source_path": src_rel,
             "quarantine_path": rel, "original_name": organize.safe_name(path.name),
             "original_name_raw": organize.name_to_db(path.name), "size_bytes": st.st_size, "sha256": None}
        try:
            if stat.S_ISREG(st.st_mode):
                self._move(path, rel, "quarantine", {"q": q}, None, None,
                           lambda jid: self.store.record_quarantine(q, jid), snap=organize.Snapshot.of(st))
            else:  # a link (moved as a link, never followed) or a special file
                self._quarantine_entry(path, rel, q)
        except organize.SourceChanged:
            return "changed"
        except PermissionError as exc:
            # only when the file itself is the problem (cannot be read for a copy, a device node
            # that may not be re-created), never for a storage that refuses us (that is retried)
            theirs = exc.filename in (str(path), os.fsdecode(path)) or not stat.S_ISREG(st.st_mode)
            if not theirs or os.path.lexists(self.abs_storage(rel)) or not os.path.lexists(path):
                raise
            return self._left_in_inbox(path, st, reason, f"{detail}; cannot be moved: {exc.strerror}")
        self.stats.quarantined += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        log.warning("quarantined %s as %s: %s", src_rel, reason, detail)
        return f"quarantined:{reason}"

    def _quarantine_entry(self, path: Path, rel: str, q: dict[str, Any]) -> None:
        """Journal, then rename a link or special file into quarantine (across devices: a new
        node of the same kind, then the old one removed), then record it."""
        dest = self.abs_storage(rel)
        organize.make_dirs(dest.parent)
        jid = self.store.journal_add("quarantine", organize.path_to_db(path), rel, payload={"q": q})
        try:
            _rename_no_clobber(path, dest)
        except OSError:
            if not os.path.lexists(dest):
                self.store.journal_delete(jid)
            raise
        self.store.record_quarantine(q, jid)

    def release_retries(self) -> list[Path]:
        """Move quarantined files whose retry was requested (dashboard) back into the inbox,
        where they are ingested again like new files. Returns their new inbox paths.

        Across devices too (a verified copy, journaled: the replay finishes or undoes it). A
        retry that fails is logged, recorded as an error event and set back to ``quarantined``
        (press Retry again): it never stops the librarian."""
        back: list[Path] = []
        for q in self.store.retry_requested():
            try:
                target = self._release(q)
            except db.UNAVAILABLE:
                raise
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                log.error("quarantine %s: retry failed, left in quarantine: %s", q["id"], msg)
                self.store.retry_failed(q["id"], msg)
                continue
            if target is not None:
                back.append(target)
            log.info("quarantine %s: retry requested, moved back to the inbox", q["id"])
        return back

    def _release(self, q: dict[str, Any]) -> Path | None:
        src = self.abs_storage(q["quarantine_path"])
        if not os.path.lexists(src):
            self.store.release_quarantine(q["id"], None)
            return None
        name = organize.name_from_db(q["original_name_raw"]) if q.get("original_name_raw") else \
            os.fsencode(PurePosixPath(q["source_path"]).name)
        folder = self.inbox / PurePosixPath(q["source_path"]).parent
        if not folder.resolve().is_relative_to(self.inbox):
            folder = self.inbox
        organize.make_dirs(folder)
        target = next(t for cand in organize.candidate_names(os.fsdecode(name))
                      if not os.path.lexists(t := folder / cand))
        temp = organize.temp_name(target)
        jid = self.store.journal_add("release", organize.path_to_db(src), q["quarantine_path"], payload={
            "quarantine_id": q["id"], "target": organize.path_to_db(target), "temp": organize.path_to_db(temp)})
        organize.move_entry(src, target, temp)
        self.store.release_quarantine(q["id"], jid)
        return target

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
    """Rename a link or special file (never following it); across devices the node is
    re-created in place of a rename (a link with its target, a pipe or socket of the same mode)."""
    if os.path.lexists(dest):
        raise FileExistsError(dest)
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        organize.recreate_node(src, dest, os.lstat(src))
        organize.fsync_dir(dest.parent)
        os.unlink(src)
        organize.fsync_dir(src.parent)
    organize.fsync_dir(dest.parent)


def _fsync_if_readable(path: Path) -> None:
    """fsync a file before linking it; a file the service may not read (to be quarantined as
    unreadable) is linked without."""
    with contextlib.suppress(PermissionError):
        organize.fsync_file(path)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k.startswith("_"):
            continue
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out

