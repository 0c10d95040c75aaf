"""One backup batch: upload the originals with one rclone call, then verify every one.

A file counts as backed up only when the remote provably holds the bytes whose SHA-256 the
database records: read back and hashed (``sha256`` mode), or (``check`` mode, the default) the
local original hashes to the database's SHA-256 and ``rclone cryptcheck``/``check`` proves by hash
that the remote holds exactly that file (falling back to a read-back where it cannot).
Everything else comes back as a typed failure. Nothing is ever deleted, locally or remotely: a
different file already at a path on the remote is moved to ``Attic/<time>/`` before the upload.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from photo_factory import files
from processor.backup import rclone
from processor.backup.store import Asset

log = logging.getLogger(__name__)

#: Folder on the remote for files a later upload replaced (the backup never destroys a copy).
ATTIC = "Attic"


@dataclass
class BatchResult:
    done: list[Asset] = field(default_factory=list)
    #: reason -> (assets, detail, counts towards giving up)
    failed: dict[str, tuple[list[Asset], str, bool]] = field(default_factory=dict)

    def fail(self, reason: str, assets: list[Asset], detail: str, *, counts: bool = True) -> None:
        if not assets:
            return
        prev = self.failed.get(reason, ([], detail, counts))
        self.failed[reason] = (prev[0] + assets, detail, counts)

    def merge(self, other: BatchResult) -> None:
        self.done.extend(other.done)
        for reason, (assets, detail, counts) in other.failed.items():
            self.fail(reason, assets, detail, counts=counts)

    @property
    def failed_count(self) -> int:
        return sum(len(a) for a, _, _ in self.failed.values())


def back_up(
    tool: rclone.Rclone, storage_dir: Path, remote: str, assets: list[Asset], verify: str, *, chunks: int = 1
) -> BatchResult:
    """Upload ``assets`` (paths relative to ``storage_dir``) to ``remote`` and verify them.

    The batch is uploaded in up to ``chunks`` rclone calls, pipelined: chunk *k* is verified
    while chunk *k+1* uploads, so verification hides behind the upload (as much as CPU allows).
    """
    result = BatchResult()
    ready: list[Asset] = []
    for a in assets:
        if not rclone.listable(a.library_path):
            result.fail("unlistable_name", [a], "file name contains a line break")
        elif not (storage_dir / a.library_path).is_file():
            log.error("asset %s: original %s is missing", a.id, a.library_path)
            result.fail("original_missing", [a], f"{a.library_path} not found in storage")
        else:
            ready.append(a)
    parts = _split(ready, chunks)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-verify") as verifier:
        checks = []
        for i, part in enumerate(parts):
            try:
                tool.copy_files(
                    rclone.local_root(storage_dir), remote, [a.library_path for a in part], backup_dir=attic(remote)
                )
            except rclone.RcloneError as exc:
                failed = [a for rest in parts[i:] for a in rest]
                log.warning("upload of %d files failed: %s", len(failed), exc)
                result.fail(exc.reason, failed, exc.detail, counts=False)
                break
            checks.append(verifier.submit(_verified, tool, storage_dir, remote, part, verify))
        for check in checks:
            result.merge(check.result())
    return result


def _split(items: list[Asset], chunks: int, min_size: int = 25) -> list[list[Asset]]:
    n = max(1, min(chunks, len(items) // min_size))
    size = -(-len(items) // n) if items else 0
    return [items[i : i + size] for i in range(0, len(items), size)] if items else []


def _verified(tool: rclone.Rclone, storage_dir: Path, remote: str, part: list[Asset], verify: str) -> BatchResult:
    """Verify one uploaded chunk (runs in the verifier thread; returns its own result)."""
    result = BatchResult()
    local_ok = local_hashes_match(storage_dir, part) if verify == "check" else None
    try:
        _verify(tool, rclone.local_root(storage_dir), remote, part, verify, result, local_ok)
    except rclone.RcloneError as exc:
        log.warning("verification of %d files failed: %s", len(part), exc)
        result = BatchResult()
        result.fail("verify_" + exc.reason, part, exc.detail, counts=False)
    return result


def _verify(
    tool: rclone.Rclone,
    src: str,
    remote: str,
    ready: list[Asset],
    verify: str,
    result: BatchResult,
    local_ok: set[int] | None = None,
) -> None:
    """``sha256``: read back and hash. ``check``: the local original's SHA-256 equals the database
    (``local_ok``) and (crypt)check proves the remote holds exactly that file; anything (crypt)check
    cannot vouch for by hash is read back and hashed after all."""
    suspects = ready
    if verify == "check":
        bad, by_hash = tool.compare(src, remote, [a.library_path for a in ready], crypt=_is_crypt(tool, remote))
        bad_set = set(bad) if by_hash else {a.library_path for a in ready}
        suspects = []
        for a in ready:
            if local_ok is not None and a.id not in local_ok:
                result.fail("hash_mismatch", [a], "the original no longer matches its database SHA-256")
            elif a.library_path in bad_set:
                suspects.append(a)
            else:
                result.done.append(a)
        if not suspects:
            return
    sums = tool.sha256sums(remote, [a.library_path for a in suspects])
    for a in suspects:
        got = sums.get(a.library_path)
        if got is None:
            result.fail("missing_on_remote", [a], "not found on the remote after upload")
        elif got != a.sha256:
            log.error(
                "asset %s: remote copy of %s has SHA-256 %s, database says %s", a.id, a.library_path, got, a.sha256
            )
            result.fail("hash_mismatch", [a], f"remote sha256 {got} != database {a.sha256}")
        else:
            result.done.append(a)


def attic(remote: str) -> str:
    """Where a remote file about to be replaced by a different one is kept (never overwritten)."""
    return rclone.join(remote, ATTIC, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))


@functools.lru_cache(maxsize=16)
def _is_crypt(tool: rclone.Rclone, remote: str) -> bool:
    """Whether ``remote`` is a crypt remote (asked once per process: one ``rclone config dump``)."""
    return tool.remote_type(remote) == "crypt"


def local_hashes_match(storage_dir: Path, assets: list[Asset]) -> set[int]:
    """Ids of the assets whose original still has the SHA-256 the database recorded."""
    return {a.id for a in assets if files.sha256_file(storage_dir / a.library_path)[0] == a.sha256}
