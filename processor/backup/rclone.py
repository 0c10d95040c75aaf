"""The rclone CLI, called once per batch (``--files-from-raw``), never once per file.

The remote and its credentials come from the user's rclone configuration: ``RCLONE_CONFIG``
(rclone's own variable) or ``RCLONE_CONFIG_<NAME>_*`` variables, inherited from our environment.
A remote is written ``name:path`` (or a local folder path). Every failure raises
:class:`RcloneError` with a typed ``reason`` and the tail of rclone's stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from photo_factory import tools

log = logging.getLogger(__name__)

#: rclone exit codes worth naming (see ``rclone help flags`` / docs "Exit Code").
_EXIT_REASONS = {
    1: "rclone_failed",
    2: "rclone_error",
    3: "remote_dir_not_found",
    4: "remote_file_not_found",
    5: "remote_temporary_error",
    6: "remote_error",
    7: "remote_fatal_error",
    8: "remote_transfer_limit",
}

_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")


class RcloneError(Exception):
    """An rclone call failed; ``reason`` is a short typed code, ``detail`` rclone's own words."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def join(remote: str, *parts: str) -> str:
    """Join a remote (``name:path``, ``name:`` or a local path) with relative parts."""
    tail = "/".join(p.strip("/") for p in parts if p.strip("/"))
    if not tail:
        return remote
    if remote.endswith((":", "/")):
        return remote + tail
    return f"{remote}/{tail}"


def listable(rel_path: str) -> bool:
    """True if a path can go into a ``--files-from-raw`` list (one path per line)."""
    return "\n" not in rel_path and "\r" not in rel_path and bool(rel_path.strip())


@contextmanager
def files_list(rel_paths: Iterable[str]) -> Iterator[str]:
    """A temporary ``--files-from-raw`` file (raw: no comment or whitespace handling)."""
    fd, name = tempfile.mkstemp(prefix="pf-backup-", suffix=".list")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for p in rel_paths:
                fh.write(p + "\n")
        yield name
    finally:
        os.unlink(name)


@dataclass(frozen=True)
class Rclone:
    """How to run rclone: the binary, extra flags (e.g. ``--transfers 8``) and a timeout."""

    binary: str = "rclone"
    extra_flags: tuple[str, ...] = ()
    timeout_s: float = 6 * 3600

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``rclone args…``; raise :class:`RcloneError` on a non-zero exit when ``check``."""
        cmd = [self.binary, *args, *self.extra_flags]
        log.debug("running %s", " ".join(cmd))
        try:  # killed on timeout or when the service is stopping (SIGTERM)
            proc = tools.run(cmd, timeout=self.timeout_s, text=True, what=f"rclone {args[0]}")
        except tools.ToolError as exc:
            raise RcloneError(exc.reason.replace("tool_", "rclone_"), exc.detail) from exc
        if check and proc.returncode != 0:
            raise RcloneError(_EXIT_REASONS.get(proc.returncode, "rclone_error"), _tail(proc.stderr))
        return proc

    # -- batches -------------------------------------------------------------
    def copy_files(
        self, src: str, dest: str, rel_paths: list[str], *, backup_dir: str | None = None, ignore_existing: bool = False
    ) -> None:
        """Copy the listed files (relative to ``src``) to ``dest``, keeping their relative paths.

        Files already present and identical are skipped by rclone (incremental). A different file
        already at a destination path is moved into ``backup_dir`` first (nothing is lost), or
        left alone with ``ignore_existing``. Raises on any failed transfer; success still needs
        verification before a file counts as copied.
        """
        extra = (["--backup-dir", backup_dir] if backup_dir else []) + (
            ["--ignore-existing"] if ignore_existing else []
        )
        with files_list(rel_paths) as listing:
            self.run(
                "copy",
                src,
                dest,
                "--files-from-raw",
                listing,
                "--no-traverse",
                "--retries",
                "2",
                "--low-level-retries",
                "5",
                *extra,
            )

    def sha256sums(self, root: str, rel_paths: list[str], *, download: bool = True) -> dict[str, str]:
        """SHA-256 of the listed files as stored on ``root``, read back (``--download``).

        With a crypt remote this downloads and decrypts each file: the hash proves that what a
        restore would get is byte-identical to the original. Files missing on the remote are
        simply absent from the result.
        """
        args = ["hashsum", "sha256", root, "--files-from-raw"]
        with files_list(rel_paths) as listing:
            proc = self.run(*args, listing, *(["--download"] if download else []), check=False)
        sums = _parse_hashsum(proc.stdout)
        if proc.returncode not in (0, 3, 4) and not sums:
            raise RcloneError(_EXIT_REASONS.get(proc.returncode, "rclone_error"), _tail(proc.stderr))
        return sums

    def compare(self, src: str, dest: str, rel_paths: list[str], *, crypt: bool) -> tuple[list[str], bool]:
        """``rclone cryptcheck`` (crypt) or ``check`` of local files against the remote, no download.

        Returns the paths that did not compare equal and whether hashes were used: False when
        the backend offers no common hash (rclone then compares sizes only, which proves little).
        """
        with files_list(rel_paths) as listing:
            proc = self.run(
                "cryptcheck" if crypt else "check",
                src,
                dest,
                "--one-way",
                "--files-from-raw",
                listing,
                "--combined",
                "-",
                check=False,
            )
        return _bad_from_combined(proc.stdout, rel_paths, proc), not size_only(proc.stderr)

    # -- single files and listings ------------------------------------------
    def copyto(self, src: str, dest: str) -> None:
        self.run("copyto", src, dest, "--retries", "2")

    def deletefile(self, path: str) -> None:
        self.run("deletefile", path)

    def list_files(self, root: str, *, recursive: bool = True) -> list[str]:
        """Relative paths of the files under ``root`` (empty when the folder does not exist)."""
        args = ["lsf", root, "--files-only"] + (["-R"] if recursive else [])
        proc = self.run(*args, check=False)
        if proc.returncode == 3 or (proc.returncode != 0 and "directory not found" in proc.stderr):
            return []
        if proc.returncode != 0:
            raise RcloneError(_EXIT_REASONS.get(proc.returncode, "rclone_error"), _tail(proc.stderr))
        return [line for line in proc.stdout.split("\n") if line]

    def remote_type(self, remote: str) -> str:
        """Backend type of ``name:`` in the config (``crypt``, ``local``, ``s3``…); ``local`` for paths."""
        name = remote.split(":", 1)[0] if ":" in remote and not remote.startswith("/") else ""
        if not name:
            return "local"
        env_type = os.environ.get(f"RCLONE_CONFIG_{name.upper()}_TYPE")
        if env_type:
            return env_type
        proc = self.run("config", "dump")
        section = json.loads(proc.stdout or "{}").get(name)
        if section is None:
            raise RcloneError("remote_not_configured", f"no remote named {name!r} in the rclone config")
        return str(section.get("type", ""))


def obscure(binary: str, password: str) -> str:
    """``rclone obscure``: the form rclone config files store passwords in."""
    try:
        proc = tools.run([binary, "obscure", password], timeout=60, text=True)
    except tools.ToolError as exc:
        raise RcloneError(exc.reason.replace("tool_", "rclone_"), exc.detail) from exc
    if proc.returncode != 0:
        raise RcloneError("rclone_error", _tail(proc.stderr))
    return proc.stdout.strip()


def _tail(stderr: str, lines: int = 3) -> str:
    """The last distinct lines of rclone's stderr, without its timestamps."""
    kept: list[str] = []
    for ln in stderr.strip().splitlines():
        ln = _STAMP.sub("", ln).strip()
        if ln and ln not in kept:
            kept.append(ln)
    return "\n".join(kept[-lines:]) or "(no message)"


def _parse_hashsum(out: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in out.split("\n"):
        if not line:
            continue
        digest, _, path = line.partition("  ")
        if len(digest) == 64 and path:
            sums[path] = digest.lower()
    return sums


def size_only(stderr: str) -> bool:
    """Did rclone (crypt)check fall back to sizes because the backends share no hash?"""
    text = stderr.lower()
    return "no common hash" in text or "hash type not supported" in text or "hash unsupported" in text


def _bad_from_combined(out: str, rel_paths: list[str], proc: subprocess.CompletedProcess[str]) -> list[str]:
    """Parse ``--combined -`` output (``= path`` same, ``* path`` differ, ``- path`` missing…)."""
    good = {line[2:] for line in out.split("\n") if line.startswith("= ")}
    if proc.returncode not in (0, 1) and not out:
        raise RcloneError(_EXIT_REASONS.get(proc.returncode, "rclone_error"), _tail(proc.stderr))
    return [p for p in rel_paths if p not in good]


def local_root(path: Path) -> str:
    """A local folder as an rclone root (absolute, so ``:`` in names cannot look like a remote)."""
    return str(path.absolute())
