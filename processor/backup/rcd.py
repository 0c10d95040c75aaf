"""One long-lived ``rclone rcd`` per backup service: a batch's upload is a job of it, not a new
rclone process.

Why: a batch of small files at disk speed spent a third of its time in rclone's start-up
(exec and Go's initialisation, ~0.12 s of CPU) and the crypt remote's key derivation (scrypt,
~0.06 s), paid again by every call. The daemon pays them once per service; a batch is one
``sync/copy`` request (ADR-062).

What does not change: the job is the same listed copy (``--no-traverse``, ``--ignore-existing``
or ``--backup-dir``, the user's flags on the daemon's command line), and the daemon logs the same
``--use-json-log -vv`` lines, judged exactly as a CLI call's (:func:`rclone.feed`).

- The list is a memfd the daemon opens through ``/proc/<our pid>/fd/<n>``: no file on disk that
  a kill -9 could leave behind.
- Only this process may use it: it listens on 127.0.0.1 at a port the kernel picks, with a random
  user and password given in its environment (never on its command line). rclone's debug log
  repeats the password: it is blanked in every line read.
- It dies with us: ``sh`` starts it beside a watcher that reads a pipe only this process holds
  open and kills the whole group when the pipe closes (a kill -9 of the service included).
- One job at a time. A job's log is read to its end before the job is judged: the marker of an
  ``rc/noop`` sent after the job comes after every line of it.
- A changed rclone configuration (the file, or ``RCLONE_*`` variables) restarts the daemon before
  the next job: a running daemon keeps its remotes and their keys.
- A daemon that cannot start, does not answer ``rc/noop`` before a job (frozen, or its rc
  changed by the user's ``--rc-*`` flags), answers a job with an error that is not the job's,
  cannot read its list, or dies mid-job: the caller falls back to an ``rclone copy`` call
  (:class:`Unavailable`), and the daemon is not tried again for a while. Only a job's own error
  (``"path": "sync/copy"``) is the remote's. The reason given is never a debug line of its log
  (those hold the values of ``RCLONE_*`` variables).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import secrets
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from photo_factory import tools
from processor.backup import rclone

log = logging.getLogger(__name__)

#: How long a daemon that failed is left alone before it is tried again.
RETRY_AFTER_S = 600.0
#: ``sh``: start rclone (stdin closed) and a watcher that kills the process group once fd 3
#: (our pipe) reaches its end: when we close it or die.
_WRAPPER = ('exec 3<&0; "$@" </dev/null 3<&- & c=$!; '
            "(cat <&3 >/dev/null; kill -9 0) >/dev/null 2>&1 & exec 3<&-; wait $c")
#: How long the daemon keeps a remote it opened (rclone's default, 5 min, would derive a crypt
#: remote's keys again for a batch after a quiet spell); a changed configuration restarts it.
_KEEP_REMOTES = "8760h"
_SERVING = re.compile(r"Serving remote control on https?://127\.0\.0\.1:(\d+)/")
#: How long a running daemon may take to answer ``rc/noop`` before a job (it answers in
#: milliseconds: one that does not is frozen or is not talking to us).
_ANSWER_S = 15.0
#: User flags that send the daemon's log elsewhere: its jobs could not be judged, nor its start seen.
_LOG_ELSEWHERE = ("--log-file", "--syslog", "--log-systemd")


def _unusable_with(flags: tuple[str, ...]) -> str:
    """Why the user's flags leave the daemon unusable ("" when they do not): its log sent
    elsewhere (its jobs could not be judged, nor its start seen), or its remote control changed
    (``--rc-user``, ``--rc-addr``…: the rc is the backup's own, on a port and with a password of
    its choosing)."""
    for flag in flags:
        name = flag.split("=", 1)[0]
        if name in _LOG_ELSEWHERE:
            return f"PF_BACKUP_RCLONE_FLAGS sends its log elsewhere ({name}): its uploads could not be judged"
        if name.startswith("--rc-"):
            return f"PF_BACKUP_RCLONE_FLAGS sets {name}: its remote control is the backup's own"
    return ""


def _is_debug(line: str) -> bool:
    """A debug line of rclone's log (plain before ``--use-json-log`` applies, then JSON): it may
    hold any ``RCLONE_*`` value it applied (``Setting default for s3-secret-access-key="…"``)."""
    if " DEBUG : " in line:
        return True
    if line.startswith("{"):
        try:
            return json.loads(line).get("level") == "debug"
        except (ValueError, AttributeError):
            return False
    return False


class Unavailable(Exception):
    """The daemon cannot run this job (not started, dead or frozen, not answering as ours, cannot
    read its list): use the CLI."""


def config_path(flags: tuple[str, ...] = ()) -> str:
    """The rclone configuration file the daemon reads: ``--config`` among its flags (the last
    one), else ``RCLONE_CONFIG``, else rclone's default."""
    named = None
    for i, flag in enumerate(flags):
        if flag == "--config" and i + 1 < len(flags):
            named = flags[i + 1]
        elif flag.startswith("--config="):
            named = flag.split("=", 1)[1]
    return named or os.environ.get("RCLONE_CONFIG") or str(
        Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "rclone" / "rclone.conf")


def config_fingerprint(flags: tuple[str, ...] = ()) -> tuple:
    """What a daemon's remotes were built from: the config file's identity and ``RCLONE_*``.
    ``flags``: the daemon's (``--config`` names the file as well as ``RCLONE_CONFIG`` does)."""
    path = config_path(flags)
    try:
        st = os.stat(path)
        ident: tuple = (path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        ident = (path, None)
    env = hashlib.sha256(repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("RCLONE_")))
                         .encode()).hexdigest()
    return ident, env


class _Run:
    """One started daemon: its process, its port once it listens, whether its log ended."""

    def __init__(self, proc: subprocess.Popen, auth: str, fingerprint: tuple):
        self.proc, self.auth, self.fingerprint = proc, auth, fingerprint
        self.port: int | None = None
        self.ready = threading.Event()  # listening, or its log ended first
        self.ended = threading.Event()
        self.prepared = threading.Event()  # the remotes to prepare are open (or failed to)
        self.startup: list[str] = []  # its log until it listened (the password blanked)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self.ended.is_set()


class Daemon:
    """``rclone rcd`` for one service's uploads. :meth:`start` at once (non-blocking), then
    :meth:`copy` per batch, :meth:`close` at the end."""

    def __init__(self, binary: str = "rclone", flags: tuple[str, ...] = (), *, prepare: tuple[str, ...] = (),
                 start_timeout_s: float = 30.0):
        """``prepare``: remotes opened as soon as it listens (a crypt remote derives its keys
        then, not in the first batch); it keeps them open as long as it runs."""
        self.binary, self.flags, self.start_timeout_s = binary, flags, start_timeout_s
        self.prepare = tuple(r for r in prepare if r)
        self._state = threading.Lock()  # start / stop
        self._jobs = threading.Lock()  # one job at a time
        self._run: _Run | None = None
        self._hurry = threading.Event()
        self._sink: Callable[[str], None] | None = None
        self._marker: str | None = None
        self._marked = threading.Event()
        self._recent: deque[str] = deque(maxlen=20)
        self._broken_until = 0.0
        self.broken = ""  # why it was last given up ("" when fine)

    # -- life ---------------------------------------------------------------
    @property
    def usable(self) -> bool:
        """Not given up on (it may still have to start)."""
        return time.monotonic() >= self._broken_until

    @property
    def group(self) -> int | None:
        """Its process group (``sh``, rclone and the watcher), while it runs."""
        run = self._run
        return run.proc.pid if run is not None and run.alive else None

    def ready(self) -> bool:
        """Start it if needed and wait until it listens (a service's start; benchmarks)."""
        try:
            run = self._ensure()
        except (Unavailable, rclone.RcloneError):
            return False
        run.prepared.wait(self.start_timeout_s)
        return True

    def start(self) -> None:
        """Start it unless it runs (or was given up on a moment ago); returns at once."""
        with self._state:
            if self._run is not None and self._run.alive:
                return
            if not self.usable:
                return
            why = _unusable_with(self.flags)
            if why:
                self._give_up(why)
                return
            self._spawn()

    def _spawn(self) -> None:
        self._stop_locked()
        user, password = "pf-backup", secrets.token_urlsafe(24)
        env = {**os.environ, "RCLONE_RC_USER": user, "RCLONE_RC_PASS": password}
        cmd = ["sh", "-c", _WRAPPER, "pf-rclone-rcd", self.binary, "rcd", "--rc-addr", "127.0.0.1:0",
               "--use-json-log", "-vv", "--ask-password=false", "--fs-cache-expire-duration", _KEEP_REMOTES,
               *self.flags]
        fingerprint = config_fingerprint(self.flags)
        try:
            proc = tools.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        except tools.ToolError as exc:
            self._give_up(exc.detail)
            return
        run = self._run = _Run(proc, "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(), fingerprint)
        threading.Thread(target=self._read, args=(run, password), name="rclone-rcd-log", daemon=True).start()
        log.debug("rclone rcd started (pid %s)", proc.pid)

    def close(self) -> None:
        with self._state:
            self._stop_locked()

    def _stop_locked(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        tools.kill(run.proc)
        tools.forget(run.proc)
        with contextlib.suppress(OSError):
            if run.proc.stdin is not None:
                run.proc.stdin.close()
        run.ended.set()
        run.ready.set()

    def _give_up(self, why: str) -> None:
        self._broken_until = time.monotonic() + RETRY_AFTER_S
        self.broken = why
        log.warning("rclone rcd not used (uploads call rclone copy instead) for %.0f s: %s", RETRY_AFTER_S, why)

    def _ensure(self) -> _Run:
        """Running, listening, and built from the current configuration; else :class:`Unavailable`."""
        run = self._run
        if run is not None and run.fingerprint != config_fingerprint(self.flags):
            log.info("rclone configuration changed: restarting rclone rcd")
            self.close()
        self.start()
        run = self._run
        if run is None:
            raise Unavailable(self.broken or "not started")
        stop, deadline = tools.stop_event(), time.monotonic() + self.start_timeout_s
        while not run.ready.wait(max(0.0, min(0.25, deadline - time.monotonic()))):
            if stop.is_set():  # the service is stopping: not another moment for its start
                raise rclone.RcloneError("rclone_stopped", "rclone rcd not used: the service is stopping")
            if time.monotonic() >= deadline:
                break
        if not run.ready.is_set() or run.port is None or not run.alive:
            self._fail(run, "did not start listening: " + (" | ".join(run.startup[-3:]) or "no output"))
        self._answers(run)
        return run

    def _fail(self, run: _Run, why: str) -> NoReturn:
        """Stop ``run`` (if it is still ours) and give the daemon up for a while: :class:`Unavailable`."""
        with self._state:
            if self._run is run:
                self._stop_locked()
            self._give_up(why)
        raise Unavailable(why)

    def _answers(self, run: _Run) -> None:
        """It answers our calls (before each job): a frozen daemon, or one whose rc the user's
        flags changed (``--rc-user``, ``--rc-baseurl``: 401, 404), is given up on here, before a
        job's failure could be taken for the remote's."""
        token = secrets.token_hex(8)
        try:
            answer = self._call(run, "rc/noop", {"pf": token}, _ANSWER_S)
        except OSError as exc:
            self._fail(run, f"no answer within {_ANSWER_S:.0f} s: {exc}")
        if answer.get("pf") != token:
            self._fail(run, f"does not answer our calls: {str(answer.get('error') or answer).strip()[:200]}")

    # -- its log ------------------------------------------------------------
    def _read(self, run: _Run, password: str) -> None:
        assert run.proc.stderr is not None
        fd = run.proc.stderr.fileno()
        tail = b""
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                *done, tail = (tail + chunk).split(b"\n")
                for raw in done:
                    self._line(run, raw.decode("utf-8", "replace").replace(password, "***") + "\n")
                # what has arrived every LOG_READ_S (as a CLI call's log is read), sooner when a
                # job waits for its marker
                if self._marker is None and self._hurry.wait(rclone.LOG_READ_S):
                    self._hurry.clear()
            if tail:
                self._line(run, tail.decode("utf-8", "replace").replace(password, "***"))
        finally:
            run.ended.set()
            run.ready.set()  # a start that waits learns it failed
            with contextlib.suppress(OSError):
                run.proc.stderr.close()
            if self._run is run:
                self._marked.set()  # a job waiting for its marker learns it never comes

    def _line(self, run: _Run, line: str) -> None:
        self._recent.append(line.strip())
        if not run.ready.is_set():
            if len(run.startup) < 50 and line.strip() and not _is_debug(line):  # why it did not start
                run.startup.append(line.strip())
            m = _SERVING.search(line)
            if m:
                run.port = int(m.group(1))
                self.broken = ""  # an earlier failure is history
                run.ready.set()
                threading.Thread(target=self._open_remotes, args=(run,), name="rclone-rcd-prepare",
                                 daemon=True).start()
        sink = self._sink if run is self._run else None  # a replaced daemon's lines are no job's
        if sink is not None:
            try:
                sink(line)
            except Exception:  # the job is judged from what was parsed; one bad line is logged
                log.exception("handling a line of rclone rcd's log failed")
        marker = self._marker
        if marker is not None and marker in line:
            self._marked.set()

    def _open_remotes(self, run: _Run) -> None:
        try:
            for remote in self.prepare:
                try:
                    answer = self._call(run, "operations/fsinfo", {"fs": remote}, 60.0)
                except OSError as exc:
                    answer = {"error": str(exc)}
                if "error" in answer:  # the job will say it again, as the batch's failure
                    log.debug("rclone rcd could not open %s ahead: %s", remote, answer["error"])
        finally:
            run.prepared.set()

    # -- requests -----------------------------------------------------------
    def _call(self, run: _Run, method: str, params: dict, timeout: float | None) -> dict:
        """POST one rc call; its JSON answer (``{"error": …}`` on failure). Raises OSError when
        the daemon does not answer."""
        assert run.port is not None
        conn = http.client.HTTPConnection("127.0.0.1", run.port, timeout=timeout)
        try:
            conn.request("POST", "/" + method, body=json.dumps(params),
                         headers={"Content-Type": "application/json", "Authorization": run.auth})
            resp = conn.getresponse()
            body = resp.read()
        except http.client.HTTPException as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            answer = {"error": body.decode("utf-8", "replace")[:500]}
        if resp.status != 200 and "error" not in answer:
            answer["error"] = f"HTTP {resp.status}"
        return answer if isinstance(answer, dict) else {"error": str(answer)[:500]}

    def copy(self, src: str, dest: str, rel_paths: list[str], config: dict, on_line: Callable[[str], None],
             timeout_s: float) -> str | None:
        """One listed copy of ``rel_paths`` (relative to ``src``) to ``dest`` with the job's rclone
        ``config`` (``IgnoreExisting``, ``BackupDir``…); each line of its log goes to
        ``on_line``. Returns None, or the job's error (rclone's words: the files' own errors
        are in the log). Raises :class:`Unavailable` (use the CLI) or :class:`rclone.RcloneError`
        (``rclone_stopped``, ``rclone_timeout``: the daemon is killed, as a CLI call would be)."""
        with self._jobs:
            run = self._ensure()
            try:
                listing = os.memfd_create("pf-backup-list")
            except OSError as exc:  # a kernel or seccomp profile without memfd: no list in memory
                self._fail(run, f"cannot hand it a file list in memory (memfd_create: {exc})")
            try:
                data = rclone.files_list(rel_paths).encode("utf-8")
                view = memoryview(data)
                while view:
                    view = view[os.write(listing, view):]
                params = {"srcFs": src, "dstFs": dest, "_config": config,
                          "_filter": {"FilesFromRaw": [f"/proc/{os.getpid()}/fd/{listing}"]}}
                self._sink = on_line
                try:
                    answer = self._job(run, params, timeout_s)
                    self._drain(run)
                finally:
                    self._sink = None
            finally:
                os.close(listing)
        error = answer.get("error")
        if error is None:
            return None
        error = str(error)
        if answer.get("path") != "sync/copy":  # not the job's failure: the daemon's own (HTTP 401, 404…)
            self._fail(run, f"does not run our jobs: {error.strip()[:200]}")
        if f"/proc/{os.getpid()}/fd/" in error:  # it may not read our list: a /proc it cannot see
            self._fail(run, f"cannot read its file list: {error}")
        return error

    def _job(self, run: _Run, params: dict, timeout_s: float) -> dict:
        """The ``sync/copy`` request, waited for beside the service's stop and the deadline."""
        stop = tools.stop_event()
        if stop.is_set():
            raise rclone.RcloneError("rclone_stopped", "rclone copy not started: the service is stopping")
        result: dict = {}

        def request() -> None:
            try:
                result["answer"] = self._call(run, "sync/copy", params, None)
            except OSError as exc:
                result["failed"] = exc

        thread = threading.Thread(target=request, name="rclone-rcd-job", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while True:
            thread.join(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
            if not thread.is_alive():
                break
            if stop.is_set():
                self.close()
                raise rclone.RcloneError("rclone_stopped", "rclone copy killed: the service is stopping")
            if time.monotonic() >= deadline:
                self.close()
                raise rclone.RcloneError("rclone_timeout",
                                         f"rclone copy did not finish within {timeout_s:.0f}s (killed)")
        if "failed" in result:  # it died mid-job (or never answered): the CLI goes on from here
            why = f"no answer: {result['failed']}"
            with self._state:
                if self._run is run:
                    self._stop_locked()
                self._give_up(why)
            raise Unavailable(why)
        return result["answer"]

    def _drain(self, run: _Run) -> None:
        """Wait until every line the job logged has been read (the noop's marker is logged after
        them: one log, written in order)."""
        marker = "pf-end-" + secrets.token_hex(8)
        self._marked.clear()
        self._marker = marker
        self._hurry.set()
        why = ""
        try:
            answer = self._call(run, "rc/noop", {"marker": marker}, 30.0)
            if answer.get("marker") != marker:
                why = f"could not mark the end of a job's log: {str(answer.get('error') or answer)[:200]}"
            elif not self._marked.wait(30.0):
                why = "the end of a job's log did not arrive within 30 s"
        except OSError as exc:
            why = f"could not mark the end of a job's log: {exc}"
        finally:
            self._marker = None
        if why:  # the job is judged from the lines read (a file without its proof is checked
            # the slow way); a daemon in that state runs no further job
            with self._state:
                if self._run is run:
                    self._stop_locked()
                self._give_up(why)
