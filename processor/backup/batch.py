"""One backup batch: upload the originals with one rclone call, then verify every one.

A file counts as backed up only when the copy read back from the remote has the SHA-256 the
database holds (``sha256`` mode) or rclone's (crypt)check vouches for it (``check`` mode).
Everything else comes back as a typed failure; nothing is ever deleted, locally or remotely.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from processor.backup import rclone
from processor.backup.store import Asset

log = logging.getLogger(__name__)


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

    @property
    def failed_count(self) -> int:
        return sum(len(a) for a, _, _ in self.failed.values())


def back_up(tool: rclone.Rclone, storage_dir: Path, remote: str, assets: list[Asset], verify: str) -> BatchResult:
    """Upload ``assets`` (paths relative to ``storage_dir``) to ``remote`` and verify them."""
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
    if not ready:
        return result
    paths = [a.library_path for a in ready]
    src = rclone.local_root(storage_dir)
    try:
        tool.copy_files(src, remote, paths)
    except rclone.RcloneError as exc:
        log.warning("upload of %d files failed: %s", len(ready), exc)
        result.fail(exc.reason, ready, exc.detail, counts=False)
        return result
    try:
        _verify(tool, src, remote, ready, verify, result)
    except rclone.RcloneError as exc:
        log.warning("verification of %d files failed: %s", len(ready), exc)
        result.fail("verify_" + exc.reason, ready, exc.detail, counts=False)
    return result


def _verify(tool: rclone.Rclone, src: str, remote: str, ready: list[Asset], verify: str, result: BatchResult) -> None:
    paths = [a.library_path for a in ready]
    if verify == "sha256":
        sums = tool.sha256sums(remote, paths)
        for a in ready:
            got = sums.get(a.library_path)
            if got is None:
                result.fail("missing_on_remote", [a], "not found on the remote after upload")
            elif got != a.sha256:
                log.error(
                    "asset %s: remote copy of %s has SHA-256 %s, database says %s",
                    a.id,
                    a.library_path,
                    got,
                    a.sha256,
                )
                result.fail("hash_mismatch", [a], f"remote sha256 {got} != database {a.sha256}")
            else:
                result.done.append(a)
        return
    is_crypt = tool.remote_type(remote) == "crypt"
    bad = set((tool.cryptcheck if is_crypt else tool.check)(src, remote, paths))
    for a in ready:
        if a.library_path in bad:
            result.fail("verify_failed", [a], "rclone check reported a difference or a missing file")
        else:
            result.done.append(a)
