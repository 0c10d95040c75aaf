"""Sidecars (XMP, AAE, THM, Takeout JSON) are backed up like the originals they sit beside.

They are not stage items of their own: after each batch of originals, and whenever the queue is
idle, the sidecars not yet on the remote are uploaded and verified with the same batch upload
(one rclone call, every file verified), and only verified ones get ``is_backed_up``. A failure is
logged and retried on the next pass (it never fails the originals' batch).
"""

from __future__ import annotations

import logging
from pathlib import Path

from processor.backup import batch, rclone
from processor.backup.store import BackupStore

log = logging.getLogger(__name__)

#: Sidecars per pass.
LIMIT = 500


def back_up_pending(tool: rclone.Rclone, storage_dir: Path, remote: str, store: BackupStore, verify: str,
                    chunks: int = 1) -> tuple[int, int]:
    """Upload and verify pending sidecars; returns (files, bytes) verified."""
    pending = store.pending_sidecars(LIMIT)
    if not pending:
        return 0, 0
    res = batch.back_up(tool, storage_dir, remote, pending, verify, chunks=chunks)
    store.mark_sidecars_backed_up([a.id for a in res.done])
    for reason, (failed, detail, _) in res.failed.items():
        log.warning("%d sidecar(s) not backed up (%s: %s); retried on the next pass", len(failed), reason, detail)
    return len(res.done), sum(a.size_bytes for a in res.done)
