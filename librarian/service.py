"""The librarian service: watch the inbox, take stable files, file them into the library.

``photo-factory librarian`` runs until SIGTERM; ``--once`` ingests every file present at start
(waiting for each to settle) and exits 0.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from pathlib import Path

import click

from librarian import attach, inbox, metadata, organize, speculate
from librarian.ingest import FileProblem, Ingestor
from librarian.settings import LibrarianSettings
from librarian.store import LibrarianStore
from photo_factory import cli, commands, db, folders, loop, tools
from photo_factory.heartbeat import HeartbeatService
from photo_factory.settings import CoreSettings, SettingsError

log = logging.getLogger(__name__)

#: The storage cannot take a file (full, over quota, read-only): the file waits in the inbox.
_STORAGE_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


#: An incomplete file is looked at again this often even when nothing about it changes.
INCOMPLETE_RECHECK_S = 60.0

#: The librarian beats ``degraded`` for this long after an unexpected error (then ``ok`` again).
DEGRADED_FOR_S = 600.0


class Librarian:
    def __init__(self, core: CoreSettings, settings: LibrarianSettings, *, once: bool = False,
                 stopper: loop.Stopper | None = None, heartbeat: HeartbeatService | None = None):
        self.core, self.settings, self.once = core, settings, once
        self.stopper = stopper or loop.Stopper()
        self.heartbeat = heartbeat
        self.store = LibrarianStore(core.database_url)
        self.reader = metadata.MetadataReader(settings.exiftool_path, settings.exiftool_processes,
                                              timeout_s=settings.exiftool_timeout_seconds,
                                              stop=self.stopper.stop)
        self.reader.on_progress = self._progress
        self.ingestor = Ingestor(core, settings, self.store, self.reader)
        #: ExifTool and SHA-256 of settling files, made while they wait (used only if unchanged)
        self.speculation = self.ingestor.speculation = speculate.Speculation(self.reader)
        self.root = core.inbox_dir.resolve()
        self.fence: folders.Fence | None = None
        self.candidates = inbox.Candidates(settings.stability_seconds)
        self.watcher: inbox.Watcher | None = None
        self._last_scan = 0.0
        self._replayed_generation = 0  # the lock generation whose journal was replayed
        self._library_checked = False
        self._attempts: dict[Path, int] = {}
        self._initial: set[Path] | None = None
        self._last_error_at: float | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._storage_fence()  # refuses before anything is created
        for d in (self.core.inbox_dir, self.core.library_dir, self.core.quarantine_dir,
                  self.core.derivatives_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.fence = self._storage_fence()
        self.candidates.trust_file_times = inbox.file_clock_agrees(self.root)
        self.ingestor.waiting.trust_file_times = self.candidates.trust_file_times
        if not self.candidates.trust_file_times:
            log.info("the inbox's file times do not follow this clock: every file waits two looks apart")
        if not self.once:
            self.watcher = inbox.Watcher(self.root, self.candidates, self.stopper.wake, self.fence)
            self.watcher.start()
        self.scan()
        if self.once:
            self._initial = set(self.candidates.pending())

    def _storage_fence(self) -> folders.Fence:
        """The storage folders by identity: never entered while walking the inbox, even when a
        mount shows them there (the settings already refuse overlapping paths)."""
        c = self.core
        fence = folders.Fence([c.storage_dir, c.library_dir, c.quarantine_dir, c.derivatives_dir])
        if self.root in fence:
            raise SettingsError(f"PF_INBOX_DIR ({self.root}) is the storage or one of its folders "
                                "(PF_STORAGE_DIR, seen through a mount): refusing to start")
        return fence

    def close(self) -> None:
        if self.watcher:
            self.watcher.stop()
        self.speculation.close()
        self.reader.close()
        self.store.close()

    def scan(self) -> int:
        n = 0
        for path in inbox.walk(self.root, self.fence):
            if self._initial is not None and path not in self._initial:
                continue  # --once takes only what was there at start
            self.candidates.note(path)
            n += 1
        self._last_scan = time.monotonic()
        return n

    # -- the loop body ---------------------------------------------------------------------
    def _prepare(self) -> bool:
        """Take the single-librarian lock; replay the journal whenever the lock was taken anew
        (start-up, reconnect), and check the library against the database once per process."""
        if not self.store.acquire_lock():
            self._beat("ok", "standby: another librarian holds the lock")
            return False
        if self._replayed_generation != self.store.lock_generation:
            handled = self.ingestor.reconcile()
            if handled:
                log.info("reconciled %d interrupted operation(s) from the journal", handled)
            self._replayed_generation = self.store.lock_generation
        if not self._library_checked:
            lib = self.ingestor.reconcile_library()
            log.info("library check: %(files)d files, %(registered)d registered, %(missing)d missing", lib)
            self._library_checked = True
        return True

    def work_once(self) -> bool:
        if not self._prepare():
            return False
        released = self.ingestor.release_retries()
        for path in released:
            if self._initial is not None:
                self._initial.add(path)
            self.candidates.note(path)
        if not self.once and time.monotonic() - self._last_scan >= self.settings.rescan_seconds:
            self.scan()
        ready = self.candidates.ready(self.settings.exiftool_batch)
        if not ready:
            self._read_ahead()
            self._beat_progress()
            if self.once and len(self.candidates):
                time.sleep(min(0.2, max(self.settings.stability_seconds / 4, 0.01)))
                return not self.stopper.stop.is_set()  # still settling: call again
            due = self.candidates.next_due()
            ahead = self.speculation.next_look  # a file written just now: read ahead once settled
            if ahead is not None and due is not None:
                due = min(due, ahead)
            if due is not None and due < self.settings.poll_seconds:
                # a file settles before the next poll: look again right then (an inbox event
                # still wakes us earlier), not up to a poll interval after its quiet period
                self.stopper.sleep(max(due, 0.01))
                return not self.stopper.stop.is_set()
            return bool(released)
        ready = [p for p in ready if not self.stopper.stop.is_set()]
        self._progress(f"ingesting a batch of {len(ready)} file(s)")
        log.debug("ingesting a batch of %d file(s); read ahead: %s", len(ready), self.speculation.progress())
        try:
            outcomes = self.ingestor.ingest_batch(ready)
        except Exception as exc:
            if isinstance(exc, db.UNAVAILABLE):
                raise
            if _stopping(exc):
                log.info("stopping: the rest of the batch stays in the inbox for the next start")
                self._reconcile_quietly()
                return False
            # unexpected: finish or undo what the batch left in the journal, then retry each
            # file alone so one bad file cannot block the others
            log.warning("batch of %d failed (%s: %s); retrying its files one by one",
                        len(ready), type(exc).__name__, exc)
            self._reconcile_quietly()
            outcomes = [(p, self._ingest_alone(p)) for p in ready]
        for path, outcome in outcomes:
            if outcome == "changed":
                continue  # stays a candidate; waits to settle again
            if outcome == "incomplete":
                self._wait_for_rest(path)
                continue
            if outcome == attach.WAITING:
                self._wait_for_photo(path)
                continue
            self.candidates.discard(path)
            self.ingestor.sidecars.forget(path)
            self.ingestor.waiting.forget(path)
            self._attempts.pop(path, None)
        self._beat_progress()
        return True

    def _read_ahead(self) -> None:
        """While the burst waits for its quiet period, read ahead what has not changed so far
        (librarian/speculate.py): filing still waits for the whole quiet period and takes a
        result only for an unchanged file. Only where the inbox's file times follow our clock
        (a settled file is recognised by its mtime and ctime); never with no quiet period."""
        self.speculation.keep_only(self.candidates.pending())
        if self.candidates.trust_file_times and self.settings.stability_seconds > 0:
            self.speculation.start(self.candidates.settling)
        else:
            self.speculation.next_look = None

    def _wait_for_rest(self, path: Path) -> None:
        """An incomplete file stays in the inbox: looked at again when it changes, or when its
        grace period is over (then quarantined as truncated). ``--once`` does not wait for it."""
        left = self.ingestor.waiting.remaining(path)
        log.warning("waiting for the rest of %s (%s); quarantined as truncated if unchanged for %.0f s more",
                    path, self.ingestor.waiting.detail(path), left)
        if self.once:
            self.candidates.discard(path)  # reported (heartbeat, log), left in the inbox
            return
        try:
            st = os.lstat(path)
        except OSError:
            return
        self.candidates.defer(path, min(max(left, 0.05), INCOMPLETE_RECHECK_S), unless_changed_from=st)

    def _wait_for_photo(self, path: Path) -> None:
        """A sidecar whose photo has not been filed stays in the inbox (``--once``: left there,
        reported); it is looked at again soon, and kept as ``orphan_sidecar`` once its wait is over."""
        if self.once:
            self.candidates.discard(path)
            return
        self.candidates.defer(path, min(max(self.ingestor.sidecars.remaining(path), 1.0), INCOMPLETE_RECHECK_S))

    def _ingest_alone(self, path: Path) -> str:
        try:
            return self.ingestor.ingest_batch([path])[0][1]
        except db.UNAVAILABLE:
            raise
        except Exception as exc:
            if _stopping(exc):
                return "changed"  # not the file's fault: it waits in the inbox
            msg = f"{type(exc).__name__}: {exc}"
            self._reconcile_quietly()
            self.ingestor.stats.errors += 1
            self.ingestor.stats.last_error = msg
            self._last_error_at = time.monotonic()
            if isinstance(exc, OSError) and exc.errno in _STORAGE_FULL:
                # not the file's fault: it waits in the inbox, never counted towards quarantine
                log.error("storage cannot take %s: %s; left in the inbox, retried later", path, msg)
                self.candidates.defer(path, 60.0)
                return "changed" if not self.once else "error"
            n = self._attempts[path] = self._attempts.get(path, 0) + 1
            log.exception("unexpected error ingesting %s (attempt %d)", path, n)
            if n >= self.settings.max_file_attempts:
                try:
                    return self.ingestor.quarantine(path, "ingest_error", msg)
                except (FileProblem, OSError) as qexc:
                    log.error("could not quarantine %s: %s; left in the inbox", path, qexc)
            self.candidates.defer(path, min(300.0, 5.0 * 2 ** n))
            return "changed" if not self.once else "error"

    def _reconcile_quietly(self) -> None:
        """Replay the journal after an unexpected error (database errors still propagate)."""
        try:
            self.ingestor.reconcile()
        except db.UNAVAILABLE:
            raise
        except Exception:
            log.exception("journal replay failed; it is retried in the next round")
            self._replayed_generation = 0

    def _progress(self, what: str | None = None) -> None:
        if self.heartbeat:
            self.heartbeat.progress(what)

    def _beat(self, status: str, message: str) -> None:
        if self.heartbeat:
            self.heartbeat.set(status, message)

    def _beat_progress(self) -> None:
        if not self.heartbeat:
            return
        s = self.ingestor.stats
        now = time.monotonic()
        recent = self._last_error_at is not None and now - self._last_error_at < DEGRADED_FOR_S
        tool = self.reader.last_problem_at is not None and now - self.reader.last_problem_at < DEGRADED_FOR_S
        status = "degraded" if recent or tool else "ok"
        message = (f"{s.ingested} filed, {s.duplicates_removed} duplicates removed, {s.quarantined} quarantined"
                   f"; {len(self.candidates)} waiting")
        if tool:
            message = f"{self.reader.last_problem} (restarted {self.reader.restarts}x); {message}"
        waiting = self.ingestor.waiting
        waiting.prune()
        incomplete = waiting.summary(self.root)
        if incomplete["incomplete_waiting"]:
            message += (f" ({incomplete['incomplete_waiting']} incomplete, waiting for the rest since "
                        f"{incomplete['incomplete_oldest_since']})")
        sidecars_waiting = self.ingestor.sidecars.waiting()
        if sidecars_waiting:
            message += f"; {sidecars_waiting} sidecar(s) waiting for their photo"
        if s.kept:  # recorded as events too (source_not_removed, left_in_inbox)
            message += f"; {len(s.kept)} inbox files could not be removed or moved (see events)"
        if recent:
            message = f"last error: {s.last_error}; {message}"
        self.heartbeat.set(
            status,
            message,
            files_ingested=s.ingested, duplicates_removed=s.duplicates_removed,
            duplicates_restored=s.duplicates_restored, quarantined=s.quarantined,
            quarantined_by_reason=s.by_reason, errors=s.errors, last_error=s.last_error,
            queue_depth=len(self.candidates), exiftool_restarts=self.reader.restarts, **incomplete,
            inbox_files_kept=len(s.kept), sidecars_waiting=sidecars_waiting,
        )


def _stopping(exc: BaseException) -> bool:
    """A tool call abandoned because the service is stopping (not the file's fault)."""
    return isinstance(exc, tools.ToolError) and exc.reason == "tool_stopped"


def run_librarian(core: CoreSettings, settings: LibrarianSettings, once: bool) -> None:
    stopper = loop.Stopper()
    stopper.install_signal_handlers()
    heartbeat = HeartbeatService(core.database_url, "librarian", settings.librarian_heartbeat_seconds,
                                 stuck_after=core.stuck_seconds)
    lib = Librarian(core, settings, once=once, stopper=stopper, heartbeat=heartbeat)
    heartbeat.start(first_beat_now=False)  # written while the librarian connects and starts
    try:
        lib.start()
    except SettingsError as exc:
        log.error("librarian: %s", exc)
        lib.close()
        heartbeat.stop(str(exc))
        sys.exit(2)
    try:
        loop.run(lib.work_once, stopper=stopper, heartbeat=heartbeat, idle_seconds=settings.poll_seconds,
                 once=once, db_wait_seconds=core.db_wait_seconds)
    finally:
        lib.close()
        left = len(lib.ingestor.waiting)
        note = f"; {left} incomplete file(s) left in the inbox, waiting for the rest" if left else ""
        heartbeat.stop(("stopped" if not once else "--once run finished") + note)


@click.command()
@click.option("--once", is_flag=True, help="Ingest every file present now (after it settles), then exit.")
def command(once: bool) -> None:
    """Watch the inbox and file every photo and video into the library."""
    core = commands.core_settings()
    settings = commands.load_settings(LibrarianSettings)
    commands.run_service("librarian", lambda: run_librarian(core, settings, once))
    if once:
        organize.close_sync_pool()
        cli.exit_without_teardown()  # everything is durable and closed: skip the teardown
