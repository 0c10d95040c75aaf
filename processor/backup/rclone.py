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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from photo_factory import tools

if TYPE_CHECKING:
    from processor.backup.rcd import Daemon

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


#: How often a streamed log is read (seconds): see :meth:`Rclone.run_streaming`.
LOG_READ_S = 0.05

#: How every listed copy runs: only the listed files, a few retries (failures are ours to judge).
_COPY_FLAGS = ("--no-traverse", "--retries", "2", "--low-level-retries", "5")
#: A list of files on stdin; rclone never reads a password from it (``--ask-password=false``: an
#: encrypted rclone.conf needs ``RCLONE_CONFIG_PASS``, as it does without a terminal anyway).
_LIST_ON_STDIN = ("--files-from-raw", "-", "--ask-password=false")


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


def files_list(rel_paths: Iterable[str]) -> str:
    """A ``--files-from-raw -`` list, given to rclone on stdin (raw: no comment or whitespace
    handling). Never a temporary file: one would outlive a kill -9 of the service."""
    return "".join(p + "\n" for p in rel_paths)


#: rclone's per-file messages that mean "no room on the remote" (checked first: rclone's local
#: backend says "preallocate: file too big for remaining disk space" when the disk is full).
_NO_SPACE = (
    "no space left",
    "disk full",
    "remaining disk space",
    "quota",
    "insufficient storage",
    "storage full",
    "not enough space",
    "507 ",
)
#: ... and those that mean "this file is bigger than the remote accepts" (a size limit).
_TOO_LARGE = (
    "file too large",
    "too big",
    "too large",
    "entitytoolarge",
    "entity too large",
    "exceeds the maximum",
    "maximum file size",
    "file size limit",
    "max file size",
    "413 ",
)
#: ... and those that mean "the remote cannot store this name" (crypt names are longer).
_NAME_TOO_LONG = ("name too long", "path too long", "filename too long")
_HASH_OK = re.compile(r"^[a-z0-9]+ = [0-9a-f]+ OK$")


def failure_reason(message: str) -> str:
    """A typed reason for one file's upload error: ``remote_full``, ``too_large``, ``name_too_long``
    or ``upload_failed``."""
    text = message.lower()
    if any(s in text for s in _NAME_TOO_LONG):
        return "name_too_long"
    if any(s in text for s in _NO_SPACE):
        return "remote_full"
    if any(s in text for s in _TOO_LARGE):
        return "too_large"
    return "upload_failed"


class Started:
    """An rclone started ahead of its run (:meth:`Rclone.start`): a run takes it once
    (:meth:`Rclone.run_streaming`); otherwise its owner closes it, which kills it."""

    def __init__(self, proc: subprocess.Popen, cmd: list[str]):
        self.proc, self.cmd = proc, cmd
        self._taken = False
        self._lock = threading.Lock()

    def take(self, cmd: list[str], *, stdin: bool) -> bool:
        """Take it for a run of ``cmd``: False (and killed) when it was started for another
        command, was taken already, or no longer runs (a fresh one is started then)."""
        with self._lock:
            if self._taken:
                return False
            self._taken = True
        if cmd == self.cmd and (self.proc.stdin is not None) == stdin and self.proc.poll() is None:
            return True
        self.discard()
        return False

    def close(self) -> None:
        """Kill it unless a run took it (the run owns it then)."""
        with self._lock:
            if self._taken:
                return
            self._taken = True
        self.discard()

    def discard(self) -> None:
        """Kill it (nothing was given to it yet: it has done nothing) and close its pipes."""
        tools.kill(self.proc)
        tools.forget(self.proc)
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@dataclass
class Upload:
    """What one ``rclone copy`` said about each file (parsed from its ``--use-json-log -vv`` log).

    ``verified``: transferred in this call, and rclone compared the hash of what it sent with the
    hash the remote reports for what it stored (``<hash> = … OK``: for a crypt remote, the hash of
    the ciphertext against the underlying backend's own hash of the stored object; otherwise a
    hash both sides support). A file the backend cannot hash is only ``copied``.
    """

    copied: set[str] = field(default_factory=set)
    hash_ok: set[str] = field(default_factory=set)
    unchanged: set[str] = field(default_factory=set)
    #: already on the remote, left alone by ``--ignore-existing`` (same or different content)
    existing: set[str] = field(default_factory=set)
    #: per-file errors, rclone's own words (the last one logged for the file)
    errors: dict[str, str] = field(default_factory=dict)
    #: the call as a whole failed (non-zero exit): its typed reason and message
    failure: RcloneError | None = None

    @property
    def verified(self) -> set[str]:
        return self.copied & self.hash_ok

    def got_anywhere(self, paths: Iterable[str]) -> bool:
        """Did the remote work for any of ``paths``: copied, found unchanged, or refused for a
        reason of its own (``too_large``, ``remote_full``)? If not, and the call failed, the
        remote as a whole is the problem (unreachable, wrong credentials, missing folder)."""
        own = {p for p, msg in self.errors.items() if failure_reason(msg) != "upload_failed"}
        seen = self.copied | self.unchanged | self.existing | own
        return any(p in seen for p in paths)

    def merge(self, later: Upload) -> Upload:
        """This report and that of a later call for some of the same files (the later one wins
        for the files it names); the first failure of the two is the call's."""
        errors = {p: m for p, m in self.errors.items() if p not in later.copied | later.unchanged}
        return Upload(
            copied=self.copied | later.copied,
            hash_ok=self.hash_ok | later.hash_ok,
            unchanged=self.unchanged | later.unchanged,
            existing=self.existing - later.copied - later.unchanged - set(later.errors),
            errors={**errors, **later.errors},
            failure=self.failure or later.failure,
        )


def parse_copy_log(stderr: str) -> Upload:
    """Per-file outcomes from ``rclone copy --use-json-log -vv`` (non-JSON lines are ignored)."""
    up = Upload()
    for line in stderr.splitlines():
        feed(up, line)
    return up


def feed(up: Upload, line: str) -> str | None:
    """Add one line of a ``rclone copy --use-json-log -vv`` log to ``up``; return the file's path
    when this line made it ``verified`` (rclone logs the hash check, then ``Copied``)."""
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    obj, msg, level = entry.get("object"), str(entry.get("msg", "")), entry.get("level")
    if not isinstance(obj, str) or not obj:
        return None
    if level == "info" and "Copied (" in msg:
        up.copied.add(obj)
    elif level == "debug" and _HASH_OK.match(msg):
        up.hash_ok.add(obj)
    elif level == "debug" and msg == "Unchanged skipping":
        up.unchanged.add(obj)
    elif level == "debug" and msg == "Destination exists, skipping":
        up.existing.add(obj)
    elif level in ("error", "critical"):
        up.errors[obj] = msg
        return None
    else:
        return None
    return obj if obj in up.copied and obj in up.hash_ok and obj not in up.errors else None


def parse_size(value: str) -> int | None:
    """An rclone size (``--max-size``): ``512``=KiB, ``10M``, ``1.5G``, ``100b``; None for ``off``."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmgtp])?(?:i?b)?", value.strip(), re.IGNORECASE)
    if not m:
        return None
    unit = (m.group(2) or "k").lower()
    return int(float(m.group(1)) * 1024 ** "bkmgtp".index(unit))


@dataclass(frozen=True)
class Rclone:
    """How to run rclone: the binary, extra flags (e.g. ``--transfers 8``) and a timeout.
    ``daemon``: a long-lived ``rclone rcd`` that runs the uploads (:meth:`upload`) as jobs
    (:mod:`processor.backup.rcd`); every other call is a process of its own."""

    binary: str = "rclone"
    extra_flags: tuple[str, ...] = ()
    timeout_s: float = 6 * 3600
    daemon: Daemon | None = field(default=None, compare=False, repr=False)

    def run(self, *args: str, check: bool = True, listing: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``rclone args…``; raise :class:`RcloneError` on a non-zero exit when ``check``.
        ``listing``: a :func:`files_list`, written to its stdin (``--files-from-raw -``)."""
        cmd = [self.binary, *args, *(_LIST_ON_STDIN if listing is not None else ()), *self.extra_flags]
        log.debug("running %s", " ".join(cmd))
        try:  # killed on timeout or when the service is stopping (SIGTERM)
            proc = tools.run(cmd, timeout=self.timeout_s, text=True, what=f"rclone {args[0]}", input=listing)
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
        self.run("copy", src, dest, *_COPY_FLAGS, *extra, listing=files_list(rel_paths))

    def start(self, *args: str, stdin: bool = False) -> Started:
        """Start ``rclone args…`` for :meth:`run_streaming` (stderr piped; stdin a pipe for
        :meth:`run_streaming`'s ``feed`` when ``stdin``): it may load its configuration while the
        caller still works out what to give it."""
        cmd = [self.binary, *args, *self.extra_flags]
        log.debug("starting %s", " ".join(cmd))
        if tools.stop_event().is_set():
            raise RcloneError("rclone_stopped", f"rclone {args[0]} not started: the service is stopping")
        try:
            proc = tools.spawn(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except tools.ToolError as exc:
            raise RcloneError(exc.reason.replace("tool_", "rclone_"), exc.detail) from exc
        return Started(proc, cmd)

    def run_streaming(self, *args: str, on_line: Callable[[str], None], feed: bytes | None = None,
                      started: Started | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``rclone args…`` like :meth:`run` (deadline, killed on stop, never raises on its exit
        status), handing each line of its stderr to ``on_line`` as rclone writes it. ``feed`` is
        written to its stdin (then closed). ``started``: the same command, started ahead by
        :meth:`start` (with ``stdin`` when there is a ``feed``); used if it still waits, else
        closed and the command started afresh."""
        stop = tools.stop_event()
        what = f"rclone {args[0]}"
        cmd = [self.binary, *args, *self.extra_flags]
        if started is not None and not started.take(cmd, stdin=feed is not None):
            started = None
        if stop.is_set():
            if started is not None:
                started.discard()
            raise RcloneError("rclone_stopped", f"{what} not started: the service is stopping")
        proc = (started or self.start(*args, stdin=feed is not None)).proc
        log.debug("running %s", " ".join(cmd))
        if feed is not None:
            assert proc.stdin is not None
            threading.Thread(target=tools.feed, args=(proc.stdin, feed), name="rclone-list", daemon=True).start()
        lines: list[str] = []
        exited = threading.Event()

        def wait_exit() -> None:
            proc.wait()
            exited.set()

        def handle(raw: bytes) -> None:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            try:
                on_line(line)
            except Exception:  # the log is still kept whole: the caller judges it at the end
                log.exception("handling a line of %s failed", what)

        def read() -> None:
            # what has arrived, every LOG_READ_S, not each line as it comes: a line by line reader
            # woke (and took the GIL from the hasher) twice per file, 70-90 ms of CPU a batch of
            # 300 where parsing the lines takes 5 ms; a line now waits at most LOG_READ_S longer
            assert proc.stderr is not None
            fd = proc.stderr.fileno()
            tail = b""
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                *done, tail = (tail + chunk).split(b"\n")
                for raw in done:
                    handle(raw + b"\n")
                exited.wait(LOG_READ_S)  # at once when rclone has ended: its last lines, then EOF
            if tail:
                handle(tail)

        reader = threading.Thread(target=read, name="rclone-log", daemon=True)
        reader.start()
        threading.Thread(target=wait_exit, name="rclone-wait", daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:  # the log ends when rclone does (Popen.wait would poll, up to 50 ms late)
                reader.join(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
                if not reader.is_alive():
                    try:
                        proc.wait(timeout=max(5.0, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:  # its log closed, rclone itself hangs on
                        tools.kill(proc)
                    break
                if stop.is_set():
                    tools.kill(proc)
                    raise RcloneError("rclone_stopped", f"{what} killed: the service is stopping")
                if time.monotonic() >= deadline:
                    tools.kill(proc)
                    raise RcloneError("rclone_timeout", f"{what} did not finish within {self.timeout_s:.0f}s (killed)")
        finally:
            if proc.poll() is None:
                tools.kill(proc)
            tools.forget(proc)
        return subprocess.CompletedProcess(cmd, proc.returncode, None, "".join(lines))

    def upload(self, src: str, dest: str, rel_paths: list[str], *, backup_dir: str,
               on_verified: Callable[[str], None] | None = None, started: Started | None = None) -> Upload:
        """Copy the listed files like :meth:`copy_files`, but report per file instead of raising.

        One file that fails (too large, no space, refused) does not fail the others: rclone goes
        on with the rest, and the report says which were copied and hash-checked, which were
        already there, and which failed with what message. ``failure`` is set when rclone exited
        non-zero. Raises only when rclone could not run at all (missing, timed out).

        Two calls at most. The new files first, with ``--ignore-existing``: nothing on the remote
        can be replaced, and it spares ``--backup-dir``, which made rclone 1.60 take 15–30 % longer
        for the same upload (measured at 20 MB/s). The files that call found on the remote (a
        retry, an original changed since its last upload) then go with ``--backup-dir``: a
        different copy is moved to the attic before it is replaced, an identical one is skipped.

        ``on_verified(path)`` is called (from a reader thread) the moment rclone's log shows a file
        copied and hash-checked: the caller can finish it while the others upload. ``started``: the
        first call, started ahead by :meth:`start_upload` (closed here if it cannot be used).
        """
        up = self._copy_report(src, dest, rel_paths, "--ignore-existing", on_verified=on_verified, started=started)
        if up.existing:
            again = self._copy_report(src, dest, sorted(up.existing), "--backup-dir", backup_dir,
                                      on_verified=on_verified)
            up = up.merge(again)
        return up

    def start_upload(self, src: str, dest: str) -> Started:
        """Start the first ``rclone copy`` of an :meth:`upload` before its files are known (the
        backup starts it before it claims them): rclone reads its list from stdin once it has
        started and loaded its configuration, so its start-up overlaps the caller's own work.
        Hand it to :meth:`upload` or :meth:`Started.close` it."""
        tool, args = self._copy_command(src, dest, "--ignore-existing")
        return tool.start(*args, stdin=True)

    def _copy_command(self, src: str, dest: str, *flags: str) -> tuple[Rclone, tuple[str, ...]]:
        """The rclone and arguments of one listed copy; the list comes on stdin (``_LIST_ON_STDIN``)."""
        # rclone refuses other filters beside --files-from-raw: the caller enforces --max-size itself
        tool = replace(self, extra_flags=without_max_size(self.extra_flags))
        return tool, ("copy", src, dest, *_LIST_ON_STDIN, *_COPY_FLAGS, *flags, "--use-json-log", "-vv")

    def _copy_report(self, src: str, dest: str, rel_paths: list[str], *flags: str,
                     on_verified: Callable[[str], None] | None = None, started: Started | None = None) -> Upload:
        if self.daemon is not None and started is None and self.daemon.usable:
            from processor.backup.rcd import Unavailable

            try:
                return self._job_report(self.daemon, src, dest, rel_paths, flags, on_verified)
            except Unavailable as exc:
                log.warning("rclone rcd could not run the upload (%s): rclone copy instead", exc)
        tool, args = self._copy_command(src, dest, *flags)
        up = Upload()

        def on_line(line: str) -> None:
            path = feed(up, line)
            if path is not None and on_verified is not None:
                on_verified(path)

        proc = tool.run_streaming(*args, on_line=on_line, feed=files_list(rel_paths).encode("utf-8"), started=started)
        if proc.returncode != 0:
            errors = list(dict.fromkeys(up.errors.values()))[-3:]
            up.failure = RcloneError(
                _EXIT_REASONS.get(proc.returncode, "rclone_error"), "\n".join(errors) or _json_tail(proc.stderr)
            )
        return up

    def _job_report(self, daemon: Daemon, src: str, dest: str, rel_paths: list[str], flags: tuple[str, ...],
                    on_verified: Callable[[str], None] | None) -> Upload:
        """:meth:`_copy_report` as a job of the daemon: the same copy (``flags``: the CLI's
        ``--ignore-existing`` or ``--backup-dir <dir>``), the same log. A job that failed is run once
        more for every file it did not store (the ones it never reached included), as the CLI's
        ``--retries 2`` would (rc jobs have no retries of their own)."""
        config: dict[str, object] = {"NoTraverse": True, "LowLevelRetries": 5}
        if "--ignore-existing" in flags:
            config["IgnoreExisting"] = True
        if "--backup-dir" in flags:
            config["BackupDir"] = flags[flags.index("--backup-dir") + 1]
        up = Upload()
        for attempt in range(2):
            this = Upload()

            def on_line(line: str, this: Upload = this) -> None:
                path = feed(this, line)
                if path is not None and on_verified is not None:
                    on_verified(path)

            error = daemon.copy(src, dest, rel_paths, config, on_line, self.timeout_s)
            up = this if attempt == 0 else up.merge(this)
            if error is None:
                up.failure = None
                return up
            errors = list(dict.fromkeys(this.errors.values()))[-3:]
            up.failure = RcloneError(_rc_reason(error), "\n".join(errors) or error)
            # as the CLI's retry (the whole listed copy again): every file not done, the ones a
            # job cut short never named included (--ignore-existing skips what this one stored)
            stored = this.copied | this.unchanged
            again = [p for p in rel_paths if p not in stored and (p in this.errors or p not in this.existing)]
            if not again or not this.got_anywhere(rel_paths):
                break
            rel_paths = again
        return up

    @property
    def max_size(self) -> int | None:
        """The ``--max-size`` among the extra flags, or None. rclone would skip larger files
        silently (or, beside ``--files-from-raw``, refuse to run): uploads enforce it themselves."""
        flags = list(self.extra_flags)
        for i, flag in enumerate(flags):
            if flag == "--max-size" and i + 1 < len(flags):
                return parse_size(flags[i + 1])
            if flag.startswith("--max-size="):
                return parse_size(flag.split("=", 1)[1])
        return None

    def capacity(self, remote: str) -> int | None:
        """The remote's total size in bytes (``rclone about``), or None when it does not say."""
        proc = self.run("about", remote, "--json", check=False)
        if proc.returncode != 0:
            return None
        try:
            total = json.loads(proc.stdout or "{}").get("total")
        except ValueError:
            return None
        return int(total) if isinstance(total, int | float) and total > 0 else None

    def sha256sums(self, root: str, rel_paths: list[str], *, download: bool = True) -> dict[str, str]:
        """SHA-256 of the listed files as stored on ``root``, read back (``--download``).

        With a crypt remote this downloads and decrypts each file: the hash proves that what a
        restore would get is byte-identical to the original. Files missing on the remote are
        simply absent from the result.
        """
        proc = self.run("hashsum", "sha256", root, *(["--download"] if download else []), check=False,
                        listing=files_list(rel_paths))
        sums = _parse_hashsum(proc.stdout)
        if proc.returncode not in (0, 3, 4) and not sums:
            raise RcloneError(_EXIT_REASONS.get(proc.returncode, "rclone_error"), _tail(proc.stderr))
        return sums

    def compare(self, src: str, dest: str, rel_paths: list[str], *, crypt: bool) -> tuple[list[str], bool]:
        """``rclone cryptcheck`` (crypt) or ``check`` of local files against the remote, no download.

        Returns the paths that did not compare equal and whether hashes were used: False when
        the backend offers no common hash (rclone then compares sizes only, which proves little).
        """
        proc = self.run("cryptcheck" if crypt else "check", src, dest, "--one-way", "--combined", "-", check=False,
                        listing=files_list(rel_paths))
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


def obscure(binary: str, password: str, *, timeout: float = 60) -> str:
    """``rclone obscure``: the form rclone config files store passwords in.

    The password goes to rclone on stdin (``rclone obscure -``), never on the command line, where
    every user of the machine can read it (``ps``, ``/proc/<pid>/cmdline``). rclone reads one line
    and, given nothing, obscures ``-`` itself: an empty password or one with a line break is refused
    here instead.
    """
    if not password or "\n" in password or "\r" in password:
        raise RcloneError("bad_password", "a password must be one non-empty line")
    try:
        proc = tools.spawn([binary, "obscure", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    except tools.ToolError as exc:  # rclone is not installed
        raise RcloneError(exc.reason.replace("tool_", "rclone_"), exc.detail) from exc
    try:
        out, err = proc.communicate(password + "\n", timeout=timeout)
    except subprocess.TimeoutExpired:
        tools.kill(proc)
        raise RcloneError("rclone_timeout", f"rclone obscure did not finish within {timeout:.0f}s") from None
    finally:
        tools.forget(proc)
    if proc.returncode != 0 or not out.strip():
        raise RcloneError("rclone_error", _tail(err))
    return out.strip()


def _tail(stderr: str, lines: int = 3) -> str:
    """The last distinct lines of rclone's stderr, without its timestamps."""
    kept: list[str] = []
    for ln in stderr.strip().splitlines():
        ln = _STAMP.sub("", ln).strip()
        if ln and ln not in kept:
            kept.append(ln)
    return "\n".join(kept[-lines:]) or "(no message)"


def _rc_reason(error: str) -> str:
    """The reason of a failed rc job (what the CLI's exit status would have said)."""
    text = error.lower()
    if "directory not found" in text:
        return "remote_dir_not_found"
    if "max transfer limit reached" in text:  # --max-transfer: the CLI exits 8
        return "remote_transfer_limit"
    return "rclone_failed"


def without_max_size(flags: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "--max-size":
            skip = True
        elif not flag.startswith("--max-size="):
            out.append(flag)
    return tuple(out)


def _json_tail(stderr: str, lines: int = 3) -> str:
    """The last distinct error messages of a ``--use-json-log`` run (or its plain tail)."""
    msgs: list[str] = []
    for ln in stderr.splitlines():
        try:
            entry = json.loads(ln) if ln.startswith("{") else None
        except ValueError:
            entry = None
        if entry is None:
            continue
        msg = str(entry.get("msg", "")).strip()
        if entry.get("level") in ("error", "critical", "warning") and msg and msg not in msgs:
            msgs.append(msg)
    plain = [ln for ln in stderr.splitlines() if not ln.startswith("{") and " DEBUG : " not in ln]
    return "\n".join(msgs[-lines:]) or _tail("\n".join(plain))


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
