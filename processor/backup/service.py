"""``photo-factory backup``: incremental, verified, encrypted-if-you-say-so copies of the originals.

Each round claims a batch of originals with ``is_backed_up = FALSE`` (``FOR UPDATE SKIP LOCKED``
with a lease, so replicas share the queue and a dead worker's rows come back), uploads them with
one rclone call, verifies them, and sets the flag only for verified files. Failures keep the flag
false with a reason and back off. When the queue drains after a run that backed something up (or
when the dump interval has passed) the database is dumped, uploaded, verified, and old dumps are
expired by retention — the only thing this service ever deletes on the remote.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from photo_factory import db, loop
from photo_factory.commands import core_settings, load_settings, run_service
from photo_factory.heartbeat import HeartbeatService
from photo_factory.settings import CoreSettings
from processor.backup import batch, dumps, rclone
from processor.backup.settings import BackupSettings
from processor.backup.store import Backoff, BackupStore

log = logging.getLogger(__name__)


@dataclass
class Run:
    id: int
    files: int = 0
    bytes: int = 0
    failed_files: int = 0
    reasons: dict[str, str] = field(default_factory=dict)


class BackupWorker:
    """The loop body: ``work_once() -> bool`` ("did work, call me again now")."""

    def __init__(self, core: CoreSettings, cfg: BackupSettings, heartbeat: HeartbeatService | None = None):
        self.core, self.cfg, self.heartbeat = core, cfg, heartbeat
        self.store = BackupStore(core.database_url)
        self.tool = rclone.Rclone(cfg.backup_rclone_binary, cfg.rclone_flags)
        self.backoff = Backoff(
            cfg.backup_retry_base_seconds, cfg.backup_retry_max_seconds, cfg.backup_max_attempts
        )
        self.run: Run | None = None
        self.last_result: str | None = None

    def work_once(self) -> bool:
        if not self.cfg.backup_remote:
            self._beat("degraded", "no remote configured (set PF_BACKUP_REMOTE)")
            return False
        assets = self.store.claim_batch(self.cfg.backup_batch_size, self.cfg.backup_lease_seconds)
        if assets:
            self._do_batch(assets)
            return True
        if self.run is not None:
            self._finish_run(dump=self.run.files > 0 and self.cfg.backup_dumps)
        elif self.cfg.backup_dumps and self._dump_due():
            self.run = Run(self.store.start_run(self.cfg.backup_remote))
            self._finish_run(dump=True)
        self._beat_status()
        return False

    def close(self) -> None:
        if self.run is not None:
            self._finish_run(dump=False)
        self.store.close()

    # -- batches ---------------------------------------------------------------
    def _do_batch(self, assets: list[batch.Asset]) -> None:
        if self.run is None:
            self.run = Run(self.store.start_run(self.cfg.backup_remote))
        res = batch.back_up(
            self.tool, self.core.storage_dir, self.cfg.backup_remote, assets, self.cfg.backup_verify
        )
        self.store.mark_backed_up([a.id for a in res.done])
        for reason, (failed, detail, counts) in res.failed.items():
            self.store.mark_retry([a.id for a in failed], reason, detail, self.backoff, counts=counts)
            self.run.reasons[reason] = detail
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

    def _mirror_derivatives(self) -> None:
        src = self.core.derivatives_dir
        if src.is_dir():
            try:  # copy, never sync: nothing on the remote is deleted
                self.tool.run(
                    "copy", rclone.local_root(src), rclone.join(self.cfg.backup_remote, "Derivatives")
                )
            except rclone.RcloneError as exc:
                assert self.run is not None
                self.run.reasons["derivatives_" + exc.reason] = exc.detail

    def _finish_run(self, *, dump: bool) -> None:
        run, self.run = self.run, None
        assert run is not None
        dump_name = None
        if dump:
            try:
                dump_name = self.dump_database(run.id)
            except (dumps.DumpError, rclone.RcloneError) as exc:
                log.error("database dump failed: %s", exc)
                run.reasons[exc.reason] = exc.detail
        result = "ok" if not run.reasons else "partial" if run.files or dump_name else "failed"
        reason = ",".join(sorted(run.reasons)) or None
        error = "\n".join(f"{k}: {v}" for k, v in sorted(run.reasons.items())) or None
        self.store.finish_run(
            run.id,
            files=run.files,
            bytes_=run.bytes,
            failed_files=run.failed_files,
            result=result,
            reason=reason,
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

    # -- database dumps ----------------------------------------------------------
    def _dump_due(self) -> bool:
        last = self.store.last_dump_at(self.cfg.backup_remote)
        return last is None or datetime.now(UTC) - last >= timedelta(
            hours=self.cfg.backup_dump_interval_hours
        )

    def dump_database(self, run_id: int | None) -> str:
        """pg_dump, upload to ``<remote>/db/``, verify by SHA-256, apply retention; return the name."""
        now = datetime.now(UTC)
        name = dumps.dump_name(now)
        remote_dir = rclone.join(self.cfg.backup_remote, dumps.REMOTE_DIR)
        with tempfile.TemporaryDirectory(prefix="pf-dump-") as tmp:
            local = Path(tmp) / name
            digest = dumps.pg_dump(self.core.database_url, local)
            size = local.stat().st_size
            self.tool.copyto(str(local), rclone.join(remote_dir, name))
        got = self.tool.sha256sums(remote_dir, [name]).get(name)
        if got != digest:
            raise rclone.RcloneError("dump_verify_failed", f"{name}: remote sha256 {got} != {digest}")
        self.store.record_dump(name, self.cfg.backup_remote, now, size, digest, run_id)
        self._expire_dumps(remote_dir)
        return name

    def _expire_dumps(self, remote_dir: str) -> None:
        policy = dumps.Retention(self.cfg.backup_keep_daily, self.cfg.backup_keep_weekly)
        for name in dumps.expired(self.tool.list_files(remote_dir, recursive=False), policy):
            self.tool.deletefile(rclone.join(remote_dir, name))
            self.store.mark_dump_expired(name)
            log.info(
                "expired database dump %s (retention %d daily, %d weekly)", name, policy.daily, policy.weekly
            )

    # -- heartbeat ---------------------------------------------------------------
    def _beat_status(self) -> None:
        st = self.store.status()
        last = st.get("last_success_at")
        age = (datetime.now(UTC) - last).total_seconds() if last else None
        status = "ok" if self.last_result in (None, "ok") and not st.get("failed") else "degraded"
        msg = (
            f"last successful backup {_ago(age)}; {st.get('pending', 0)} pending, "
            f"{st.get('failed', 0)} failed, {st.get('backed_up', 0)} backed up"
        )
        self._beat(
            status,
            msg,
            last_success_at=last.isoformat() if last else None,
            last_success_age_s=age,
            pending=st.get("pending"),
            failed=st.get("failed"),
            backed_up=st.get("backed_up"),
            remote=self.cfg.backup_remote,
        )

    def _beat(self, status: str, message: str, **details: object) -> None:
        if self.heartbeat is not None:
            self.heartbeat.set(status, message, **details)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


@click.command()
@click.option("--once", is_flag=True, help="Back up everything pending (and dump the database), then exit.")
def command(once: bool) -> None:
    """Back up originals (and database dumps) to PF_BACKUP_REMOTE with rclone, verified."""
    core = core_settings()
    cfg = load_settings(BackupSettings)

    def body() -> None:
        db.wait_for(core.database_url, "backup", core.db_wait_seconds).close()
        heartbeat = HeartbeatService(core.database_url, "backup", core.heartbeat_seconds).start()
        stopper = loop.Stopper()
        stopper.install_signal_handlers()
        worker = BackupWorker(core, cfg, heartbeat)
        try:
            loop.run(
                worker.work_once,
                stopper=stopper,
                heartbeat=heartbeat,
                idle_seconds=cfg.backup_idle_seconds,
                once=once,
                db_wait_seconds=core.db_wait_seconds,
            )
        finally:
            worker.close()
            heartbeat.beat()
            heartbeat.stop("stopped" if not once else "finished --once run")

    run_service("backup", body)
