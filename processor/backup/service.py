"""``photo-factory backup``: incremental, verified (and, with a crypt remote, encrypted) copies.

Built on the stage engine (:mod:`photo_factory.worker`): the ``backup`` stage claims originals with
``is_backed_up = FALSE`` in batches (``FOR UPDATE SKIP LOCKED``, replicas share the queue, dead
workers' claims come back), :func:`upload_batch` uploads each batch with one rclone call and
verifies every file; only verified files get the flag. Failures are typed :class:`ItemError`
reasons that back off and end in the engine's visible ``failed`` state. While the remote itself
is unreachable the worker stops claiming (so an outage does not use up attempts) and probes it
with backoff. When the queue drains after a run that backed something up (or when the dump
interval has passed) the database is dumped, uploaded, verified, and old dumps are expired by
retention — the only thing this service ever deletes on the remote.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from photo_factory import db, loop
from photo_factory.commands import core_settings, load_settings, run_service
from photo_factory.heartbeat import HeartbeatService
from photo_factory.settings import CoreSettings
from photo_factory.stage_store import COUNT_CAP
from photo_factory.worker import ItemError, Stage, StageWorker, at_least
from processor.backup import batch, dumps, rcd, rclone, sidecars
from processor.backup.settings import BackupSettings
from processor.backup.store import Asset, BackupStore

log = logging.getLogger(__name__)


def stage(cfg: BackupSettings) -> Stage:
    """The engine's definition of the backup stage (also what the dashboard's Retry resets)."""
    return Stage(
        name="backup",
        flag="is_backed_up",
        batch_size=cfg.backup_batch_size,
        max_attempts=cfg.backup_max_attempts,
        backoff_base_s=cfg.backup_retry_base_seconds,
        backoff_max_s=cfg.backup_retry_max_seconds,
        claim_timeout_s=cfg.backup_lease_seconds,
        poll_s=cfg.backup_idle_seconds,
        # what upload_batch reads: whole rows (50 columns) made 15,000 dict items per 300 claimed
        columns=("library_path", "sha256", "size_bytes"),
        # the whole batch goes into one rclone call at once: started (attempt counted) by the
        # claim, not by a second update of every row (half the database writes of a round)
        start_on_claim=True,
        # a forgotten claim or completion only means a file is uploaded and verified again; a
        # flag is still set only after its proof (each batch waited for about ten commits)
        commit_wait=False,
    )


@dataclass
class Run:
    id: int
    files: int = 0
    bytes: int = 0
    failed_files: int = 0
    reasons: dict[str, str] = field(default_factory=dict)


class Backup:
    """The domain side of the worker: batches, runs, dumps and the remote's health."""

    def __init__(self, core: CoreSettings, cfg: BackupSettings):
        self.core, self.cfg = core, cfg
        self.store = BackupStore(core.database_url)
        #: the uploads' long-lived rclone (ADR-062); None: an rclone copy per batch
        self.daemon = (rcd.Daemon(cfg.backup_rclone_binary, rclone.without_max_size(cfg.rclone_flags),
                                  prepare=(cfg.backup_remote,))
                       if cfg.backup_rclone_daemon else None)
        self.tool = rclone.Rclone(cfg.backup_rclone_binary, cfg.rclone_flags, daemon=self.daemon)
        self.run: Run | None = None
        self.last_result: str | None = None
        self.remote_error: str | None = None
        #: the last dump held no or far fewer assets than the newest good one (an empty catalogue)
        self.shrunk: dumps.Manifest | None = None
        #: reason -> files of the last batch that failed with it (for the heartbeat's message)
        self.failing: dict[str, int] = {}
        self._probe_at = 0.0
        self._probe_delay = cfg.backup_retry_base_seconds
        #: records verified files while their batch still uploads (the engine's complete_early)
        self.on_done: Callable[[list[Asset]], None] | None = None
        #: the next batch's rclone, started before its claim (see :meth:`warm_up`)
        self.ahead: rclone.Started | None = None
        #: whether the next round will likely claim something: the first round, or the last one
        #: claimed a whole batch (a smaller one emptied the queue)
        self.expect_work = True

    # -- one batch (the engine's process_batch) -------------------------------
    def upload_batch(self, rows: list[dict]) -> dict[int, ItemError | None]:
        """Upload and verify claimed rows; ``None`` = verified on the remote, else a typed error."""
        assets = [Asset(r["id"], r["library_path"], r["sha256"].strip(), r["size_bytes"]) for r in rows]
        self.expect_work = len(rows) >= self.cfg.backup_batch_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-run") as pool:
            # a new run's row is written while the upload runs, not before it (a commit waits for the disk)
            started = pool.submit(self.store.start_run, self.cfg.backup_remote) if self.run is None else None
            try:
                ahead, self.ahead = self.ahead, None
                self.warm_up()  # a whole batch: the next one's rclone starts while this one uploads
                res = batch.back_up(self.tool, self.core.storage_dir, self.cfg.backup_remote, assets,
                                    self.cfg.backup_verify, chunks=self.cfg.backup_pipeline_chunks,
                                    on_done=self.on_done, started=ahead)
            finally:  # the run is ours to close even when the batch failed
                if started is not None:
                    self.run = Run(started.result())
        assert self.run is not None
        outcomes: dict[int, ItemError | None] = {a.id: None for a in res.done}
        for reason, (failed, detail, counts) in res.failed.items():
            err = ItemError(reason, detail, retryable=reason not in batch.PERMANENT)
            outcomes.update({a.id: err for a in failed})
            self.run.reasons[reason] = detail
            if not counts:
                self._remote_failed(f"{reason}: {detail}")
        self.failing = {reason: len(failed) for reason, (failed, _, _) in res.failed.items()}
        # backed_up_at: stamped with the flag the engine sets (migration 0021), one row update per file
        self.run.files += len(res.done)
        self.run.bytes += sum(a.size_bytes for a in res.done)
        self.run.failed_files += res.failed_count
        log.info(
            "backup batch: %d verified, %d failed%s",
            len(res.done),
            res.failed_count,
            f" ({', '.join(res.failed)})" if res.failed else "",
        )
        if self.cfg.backup_derivatives and res.done:
            self._mirror_derivatives()
        self._back_up_sidecars()
        return outcomes

    def warm_up(self) -> None:
        """Start the next batch's rclone ahead when the next round will likely claim something
        (the first round; a whole batch: while it uploads): rclone's start (exec, Go's start-up,
        0.1-0.2 s) then runs beside the claim or the upload instead of after them. It waits for
        its list on stdin and reads no file before; a round that claims nothing kills it
        (:meth:`cool_down`). Idle rounds, and a batch that emptied the queue, start nothing."""
        if self.daemon is not None and self.daemon.usable:
            self.daemon.start()  # once: it then runs for the service's life
            return
        if self.ahead is not None or not self.expect_work:
            return
        try:
            self.ahead = self.tool.start_upload(rclone.local_root(self.core.storage_dir), self.cfg.backup_remote)
        except rclone.RcloneError as exc:  # the batch starts its own and reports it
            log.debug("rclone not started ahead: %s", exc)

    def cool_down(self, did: bool) -> None:
        """After a round that claimed nothing (or on close): kill an rclone started ahead. After
        one that did, the one started for the next round stays."""
        if did:
            return
        self.expect_work = False
        started, self.ahead = self.ahead, None
        if started is not None:
            started.close()

    def _back_up_sidecars(self) -> None:
        """Sidecars beside the originals (processor/backup/sidecars.py): never fail a batch."""
        try:
            n, size = sidecars.back_up_pending(self.tool, self.core.storage_dir, self.cfg.backup_remote, self.store,
                                               self.cfg.backup_verify, chunks=self.cfg.backup_pipeline_chunks)
        except (rclone.RcloneError, OSError) as exc:
            log.warning("sidecar backup failed: %s; retried on the next pass", exc)
            return
        if n:
            if self.run is None:
                self.run = Run(self.store.start_run(self.cfg.backup_remote))
            self.run.files += n
            self.run.bytes += size

    def _mirror_derivatives(self) -> None:
        src = self.core.derivatives_dir
        if src.is_dir():
            try:  # copy, never sync: nothing on the remote is deleted
                dest = rclone.join(self.cfg.backup_remote, "Derivatives")
                attic = batch.attic(self.cfg.backup_remote)
                self.tool.run("copy", rclone.local_root(src), dest, "--backup-dir", attic)
            except rclone.RcloneError as exc:
                assert self.run is not None
                self.run.reasons["derivatives_" + exc.reason] = exc.detail

    # -- the remote's health -----------------------------------------------------
    def _remote_failed(self, error: str) -> None:
        if self.remote_error is None:
            self._probe_delay = self.cfg.backup_retry_base_seconds
        else:
            self._probe_delay = min(self._probe_delay * 2, self.cfg.backup_retry_max_seconds)
        self.remote_error = error
        self._probe_at = time.monotonic() + self._probe_delay
        log.warning("remote %s unusable (%s); not claiming until it answers again", self.cfg.backup_remote, error)

    def remote_usable(self) -> bool:
        """False while a known outage lasts (probing the remote with backoff); True otherwise."""
        if self.remote_error is None:
            return True
        if time.monotonic() < self._probe_at:
            return False
        try:
            self.tool.run("mkdir", self.cfg.backup_remote)
            self.tool.list_files(self.cfg.backup_remote, recursive=False)
        except rclone.RcloneError as exc:
            self._remote_failed(f"{exc.reason}: {exc.detail}")
            return False
        log.info("remote %s answers again", self.cfg.backup_remote)
        self.remote_error = None
        return True

    # -- runs and dumps ----------------------------------------------------------
    def on_idle(self) -> None:
        """The queue has nothing due: close the current run (dumping if it changed anything)."""
        if self.remote_error is None:
            self._back_up_sidecars()  # attached after their photo was backed up
        if self.run is not None:
            self.finish_run(dump=self.run.files > 0 and self.cfg.backup_dumps)
        elif self.cfg.backup_dumps and self.remote_error is None and self._dump_due():
            self.run = Run(self.store.start_run(self.cfg.backup_remote))
            self.finish_run(dump=True)

    def finish_run(self, *, dump: bool) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        dump_name = None
        if dump:
            try:
                dump_name = self.dump_database(run.id)
            except (dumps.DumpError, rclone.RcloneError) as exc:
                log.error("database dump failed: %s", exc)
                run.reasons[exc.reason] = exc.detail
        result = "ok" if not run.reasons else "partial" if run.files or dump_name else "failed"
        error = "\n".join(f"{k}: {v}" for k, v in sorted(run.reasons.items())) or None
        self.store.finish_run(
            run.id,
            files=run.files,
            bytes_=run.bytes,
            failed_files=run.failed_files,
            result=result,
            reason=",".join(sorted(run.reasons)) or None,
            error=error,
            dump_name=dump_name,
        )
        self.last_result = result
        log.info(
            "backup run %s: %s, %d files, %d bytes, %d failed%s",
            run.id,
            result,
            run.files,
            run.bytes,
            run.failed_files,
            f", dump {dump_name}" if dump_name else "",
        )

    def _dump_due(self) -> bool:
        last = self.store.last_dump_at(self.cfg.backup_remote)
        interval = timedelta(hours=self.cfg.backup_dump_interval_hours)
        if self.shrunk and dumps.grown_back(self.shrunk, self.store.count_assets()):
            return True  # restored: a good dump now, so the warning ends at once
        return last is None or datetime.now(UTC) - last >= interval

    def dump_database(self, run_id: int | None) -> str:
        """pg_dump, upload to ``<remote>/db/``, verify by SHA-256, apply retention; return the name."""
        now = datetime.now(UTC)
        name = dumps.dump_name(now)
        remote_dir = rclone.join(self.cfg.backup_remote, dumps.REMOTE_DIR)
        with tempfile.TemporaryDirectory(prefix="pf-dump-") as tmp:
            local = Path(tmp) / name
            digest = dumps.pg_dump(self.core.database_url, local)
            size = local.stat().st_size
            known = dumps.read_manifests(self.tool, remote_dir)
            manifest = dumps.describe(local, name, now, digest, list(known.values()))
            dumps.upload(self.tool, remote_dir, local, manifest)
        self.shrunk = manifest if manifest.shrunk_from is not None else None
        if self.shrunk:
            log.error("%s", dumps.shrink_warning(self.shrunk))
        got = self.tool.sha256sums(remote_dir, [name]).get(name)
        if got != digest:
            raise rclone.RcloneError("dump_verify_failed", f"{name}: remote sha256 {got} != {digest}")
        self.store.record_dump(name, self.cfg.backup_remote, now, size, digest, run_id)
        self._expire_dumps(remote_dir, dumps.newest_good([*known.values(), manifest]))
        return name

    def _expire_dumps(self, remote_dir: str, good: dumps.Manifest | None = None) -> None:
        policy = dumps.Retention(self.cfg.backup_keep_daily, self.cfg.backup_keep_weekly)
        ours = self.store.live_dump_names(self.cfg.backup_remote)
        protect = {good.name} if good else set()  # the newest dump that holds the catalogue stays
        for name in dumps.expired(self.tool.list_files(remote_dir, recursive=False), policy, protect):
            if name not in ours:  # never delete what we did not upload (and record) ourselves
                continue
            self.tool.deletefile(rclone.join(remote_dir, name))
            self.tool.run("deletefile", rclone.join(remote_dir, dumps.manifest_name(name)), check=False)
            self.store.mark_dump_expired(name)
            log.info("expired database dump %s (retention %d daily, %d weekly)", name, policy.daily, policy.weekly)

    def details(self) -> dict:
        """Heartbeat details: the age of the last successful backup and the remote's state."""
        st = self.store.status()
        last = st.get("last_success_at")
        age = (datetime.now(UTC) - last).total_seconds() if last else None
        return {
            "last_success_at": last.isoformat() if last else None,
            "last_success_age_s": age,
            "last_backup": _ago(age),
            "last_run_result": self.last_result,
            "backed_up": st.get("backed_up"),
            "remote": self.cfg.backup_remote,
            "remote_error": self.remote_error,
            "uploads_by": self._uploads_by(),
        }

    def _uploads_by(self) -> str:
        """How batches reach rclone: its daemon, or an ``rclone copy`` each (and why)."""
        d = self.daemon
        if d is None:
            return "rclone copy (PF_BACKUP_RCLONE_DAEMON=false)"
        if not d.usable:
            return f"rclone copy (rclone rcd not usable: {d.broken})"
        return "rclone rcd" if d.group is not None else "rclone rcd (starts with the next batch)"

    def close(self) -> None:
        self.cool_down(False)
        if self.daemon is not None:
            self.daemon.close()
        if self.run is not None:
            self.finish_run(dump=False)
        self.store.close()


class BackupWorker(StageWorker):
    """The engine's worker plus the backup's idle work (run bookkeeping, dumps) and remote probe."""

    def __init__(self, core: CoreSettings, cfg: BackupSettings, **kwargs: Any):
        self.backup = Backup(core, cfg)
        super().__init__(stage(cfg), core.database_url, process_batch=self.backup.upload_batch,
                         **kwargs)
        # a file's flag is set as soon as its evidence is complete, not when the whole batch is
        self.backup.on_done = lambda assets: self.complete_early([a.id for a in assets])

    def work_once(self) -> bool:
        did = False
        try:
            if not self.backup.remote_usable():
                self.backup.on_idle()
                return False
            self.backup.warm_up()
            did = super().work_once()
        finally:
            self.backup.cool_down(did)
        if not did:
            self.backup.on_idle()
        return did

    def beat_details(self) -> dict:
        return {**super().beat_details(), **self.backup.details()}

    def beat_status(self, details: dict) -> tuple[str, str]:
        status, message = super().beat_status(details)
        if self.backup.remote_error:
            return "degraded", f"remote unreachable: {self.backup.remote_error}; {message}"
        if self.backup.shrunk:
            return "degraded", f"{dumps.shrink_warning(self.backup.shrunk)}; {message}"
        failing = int(details.get("failed_items") or 0) + int(details.get("backing_off") or 0)
        if failing:  # an original that is not backed up is never "ok", even if the remote answers
            reasons = ", ".join(f"{r}: {n}" for r, n in sorted(self.backup.failing.items()))
            failed, retrying = int(details.get("failed_items") or 0), int(details.get("backing_off") or 0)
            plus = "+" if max(failed, retrying) >= COUNT_CAP else ""  # counted up to a cap
            return "degraded", (
                f"{failing}{plus} original(s) not backed up ({at_least(failed)} failed, "
                f"{at_least(retrying)} retrying{'; last batch ' + reasons if reasons else ''}); {message}"
            )
        self.backup.failing = {}
        return status, f"{message}; last backup {details.get('last_backup', 'never')}"

    def drain(self) -> None:
        """Process everything due now, then close (tests and benchmarks; no heartbeat)."""
        while self.work_once():
            pass
        self.close()

    def close(self) -> None:
        self.backup.close()
        self._shutdown(None)  # the engine's: give back held claims, unregister, close


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def idle_without_remote(core: CoreSettings, once: bool) -> None:
    """No PF_BACKUP_REMOTE: beat ``degraded`` and idle (``make run`` works without a remote)."""
    beat = HeartbeatService(core.database_url, "backup", core.heartbeat_seconds)
    beat.set("degraded", "no remote configured (set PF_BACKUP_REMOTE): nothing is backed up",
             setup_hint="set PF_BACKUP_REMOTE")  # a setup hint on the dashboard, not a problem
    beat.start()
    log.warning("backup: PF_BACKUP_REMOTE is not set; nothing is backed up")
    stopper = loop.Stopper()
    if not once:
        stopper.install_signal_handlers()
        stopper.stop.wait()
    beat.stop("no remote configured")


@click.command()
@click.option("--once", is_flag=True, help="Back up everything pending (and dump the database), then exit.")
def command(once: bool) -> None:
    """Back up originals (and database dumps) to PF_BACKUP_REMOTE with rclone, verified."""
    core = core_settings()
    cfg = load_settings(BackupSettings)

    def body() -> None:
        db.wait_for(core.database_url, "backup", core.db_wait_seconds).close()
        if not cfg.backup_remote:
            idle_without_remote(core, once)
            return
        worker = BackupWorker(core, cfg)
        worker.stopper.install_signal_handlers()
        try:
            # one batch may upload for as long as its claim lease: only past that is it stuck
            worker.run(once=once, heartbeat_seconds=core.heartbeat_seconds, db_wait_seconds=core.db_wait_seconds,
                       stuck_seconds=max(core.stuck_seconds, cfg.backup_lease_seconds))
        finally:
            worker.backup.close()

    run_service("backup", body)


__all__ = ["Backup", "BackupWorker", "command", "stage"]
