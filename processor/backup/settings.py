"""``PF_BACKUP_…`` settings of the backup and restore commands."""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from photo_factory.settings import PFSettings

#: rclone flags that set the log level: the backup's calls need their own (``-vv`` with a JSON log).
_OWN_LOG_LEVEL = frozenset({"-q", "--quiet", "--log-level"})


class BackupSettings(PFSettings):
    #: rclone destination, ``remote:path`` (a crypt remote for encryption) or a local folder.
    #: Empty: the backup service reports ``degraded`` "no remote configured" and idles.
    backup_remote: str = ""
    #: Originals per rclone call (one ``rclone copy --files-from-raw`` per batch).
    backup_batch_size: PositiveInt = 500
    #: ``check`` (default): the original's SHA-256, read beside the upload, matches the database,
    #: and rclone's post-transfer hash check proved the remote stored what it sent (for a crypt
    #: remote: the ciphertext's hash against the backend's own hash of the stored object) — no
    #: second read; a file rclone did not transfer in the call gets ``cryptcheck``/``check``, then
    #: a read-back. ``sha256``: read every uploaded file back (download + decrypt) and compare its
    #: SHA-256 with the database (slower, costs egress).
    backup_verify: Literal["check", "sha256"] = "check"
    #: rclone calls a batch is split into, pipelined: chunk k is verified while chunk k+1 uploads.
    #: Worth it only with ``sha256`` verification (``check`` costs no second read to hide).
    backup_pipeline_chunks: PositiveInt = 1
    backup_idle_seconds: PositiveFloat = 60.0
    #: A claim older than this goes back to pending (longer than the slowest batch upload).
    backup_lease_seconds: PositiveFloat = 3600.0
    backup_retry_base_seconds: float = 30.0
    backup_retry_max_seconds: float = 3600.0
    #: Attempts per file before the engine's visible ``failed`` state. A remote outage costs the
    #: batch in flight one attempt; then the worker stops claiming and probes the remote.
    backup_max_attempts: PositiveInt = 8
    #: Database dumps: after every run that backed something up, and at least this often.
    backup_dumps: bool = True
    backup_dump_interval_hours: float = 24.0
    backup_keep_daily: NonNegativeInt = 7
    backup_keep_weekly: NonNegativeInt = 4
    #: Also mirror Derivatives/ (thumbnails, panoramas); off: they can be rebuilt from originals.
    backup_derivatives: bool = False
    #: Extra rclone flags for every call, e.g. ``--transfers 8 --bwlimit 20M``.
    backup_rclone_flags: str = ""
    backup_rclone_binary: str = "rclone"
    #: Uploads run as jobs of one long-lived ``rclone rcd`` (local, password-protected, dies with
    #: the service) instead of an ``rclone copy`` per batch: rclone's start-up and the crypt key
    #: derivation are paid once. Off, or when it cannot start: one ``rclone copy`` per batch.
    backup_rclone_daemon: bool = True

    @field_validator("backup_rclone_flags")
    @classmethod
    def _parsable(cls, v: str) -> str:
        for flag in shlex.split(v):
            name = flag.split("=", 1)[0]
            if name in _OWN_LOG_LEVEL:
                raise ValueError(
                    f"{name} sets rclone's log level, which the backup sets itself: its per-file log is how "
                    "each upload is proved (rclone refuses -q beside -v: every batch would fail)")
        return v

    @property
    def rclone_flags(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.backup_rclone_flags))
