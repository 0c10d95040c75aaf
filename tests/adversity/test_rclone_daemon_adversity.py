"""The backup's ``rclone rcd`` (ADR-062) in a hostile or careless world: a daemon that stops
answering between batches, one that answers but not as a job (the user's ``--rc-*`` flags), a
service told to stop while its daemon starts, secrets in rclone's debug log. Each ends in every
file uploaded and verified (by the daemon or by ``rclone copy``), or a typed, visible failure
that never pauses the service for a remote that works — and no secret in any reason."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

import pytest

from photo_factory import tools
from photo_factory.settings import CoreSettings
from processor.backup import rcd, rclone
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs
from tests.support import invariants


def worker(database_url: str, storage: Path, **cfg: object) -> BackupWorker:
    return BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage),
                        BackupSettings(backup_remote="secret:", backup_dumps=False, **cfg))


def flagged(database_url: str) -> int:
    return bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up")[0][0]


def remote_sums_match(assets: list[dict]) -> bool:
    sums = rclone.Rclone().sha256sums("secret:", [a["library_path"] for a in assets])
    return sums == {a["library_path"]: a["sha256"] for a in assets}


def rclone_rcd_pid(daemon: rcd.Daemon) -> int:
    assert daemon.group is not None
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[2]) == daemon.group and argv[1:2] == [b"rcd"]:
            pids.append(int(proc.name))
    [pid] = pids
    return pid


def in_thread(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def test_a_daemon_that_stopped_answering_between_batches_does_not_hold_the_next_batch(
    database_url, storage, remote
):
    """The daemon is frozen (SIGSTOP, a wedged Go runtime, a swapped-out machine) while the
    service idles. A per-batch ``rclone copy`` would not care; the next job must not wait for the
    6 h upload deadline on a daemon that does not even answer: it is replaced by ``rclone copy``."""
    st = storage["storage"]
    first = [bs.add_asset(database_url, st, n) for n in range(2)]
    w = worker(database_url, st)
    daemon = w.backup.daemon
    assert daemon is not None
    frozen = None
    try:
        assert w.work_once() and flagged(database_url) == 2
        frozen = rclone_rcd_pid(daemon)
        os.kill(frozen, signal.SIGSTOP)
        second = [bs.add_asset(database_url, st, n) for n in range(2, 5)]
        t = in_thread(w.work_once)
        t.join(timeout=240)
        assert not t.is_alive(), "the batch waits on a daemon that does not answer"
    finally:
        if frozen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(frozen, signal.SIGCONT)
        w.close()
    assert flagged(database_url) == 5 and remote_sums_match(first + second)
    assert "answer" in daemon.broken, daemon.broken  # given up on, visibly
    assert w.backup.details()["uploads_by"].startswith("rclone copy (rclone rcd not usable"), w.backup.details()
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in first + second})


@pytest.mark.parametrize(("flags", "env"), [("--rc-user someone-else", {}), ("--rc-baseurl /pf", {}),
                                           ("", {"RCLONE_RC_BASEURL": "/pf"})])
def test_rc_settings_that_make_the_daemon_refuse_our_calls_never_fail_a_batch_on_a_working_remote(
    database_url, storage, remote, monkeypatch, flags, env
):
    """``PF_BACKUP_RCLONE_FLAGS`` go to the daemon's command line too, and it inherits our
    ``RCLONE_*`` variables: ``--rc-user`` replaces our credentials (every call: 401),
    ``--rc-baseurl`` moves its methods (404). Those answers are the daemon's, not the remote's:
    typed as the remote failing (``rclone_failed``), they paused the service, a probe with the CLI
    found the remote fine, and every batch used up an attempt until all files were ``failed``.
    The daemon must be given up on (visibly) and ``rclone copy`` used."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    st = storage["storage"]
    assets = [bs.add_asset(database_url, st, n) for n in range(3)]
    w = worker(database_url, st, backup_rclone_flags=flags)
    w.drain()
    assert w.backup.remote_error is None
    assert flagged(database_url) == 3 and remote_sums_match(assets)
    assert w.backup.details()["uploads_by"].startswith("rclone copy (rclone rcd not usable"), w.backup.details()
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in assets})


def test_a_daemon_that_fails_to_start_never_puts_a_secret_in_its_reason(
    database_url, storage, remote, monkeypatch, caplog, tmp_path
):
    """rclone's ``-vv`` log starts with every ``RCLONE_*`` variable it applied, values included
    (``Setting default for s3-secret-access-key="…"``). The reason a daemon failed to start goes
    to the service's log and the heartbeat's details (the dashboard, the database): never a debug
    line, so never a secret."""
    secret = "pf-test-secret-9f3b2c"  # a backend option for remotes this test does not use
    monkeypatch.setenv("RCLONE_S3_SECRET_ACCESS_KEY", secret)
    st = storage["storage"]
    assets = [bs.add_asset(database_url, st, n) for n in range(2)]
    caplog.set_level(logging.INFO)
    # the real rclone, whose rcd cannot listen: its plain -vv start-up lines (secrets included; its
    # JSON lines left out, so the secret is among the last lines before the failure) then the error
    unlistening = bs.rclone_whose_rcd(tmp_path, "rclone-rcd-cannot-listen",
                                      "\"$REAL\" \"$@\" --rc-addr 256.0.0.1:0 2>&1 | grep -v '^{' >&2; exit 1")
    w = worker(database_url, st, backup_rclone_binary=str(unlistening))
    w.drain()
    daemon = w.backup.daemon
    assert daemon is not None and "Failed to start remote control" in daemon.broken, daemon.broken
    assert secret not in daemon.broken
    assert secret not in w.backup.details()["uploads_by"]
    assert secret not in caplog.text
    runs = bs.query(database_url, "SELECT coalesce(error, '') FROM backup_runs")
    assert all(secret not in e for (e,) in runs)
    # rclone copy took the batches
    assert flagged(database_url) == 2, bs.query(database_url, "SELECT reason, error FROM backup_runs")
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in assets})


def test_a_stop_while_the_daemon_starts_ends_the_upload_at_once(database_url, storage, remote, tmp_path):
    """The daemon never starts listening (a frozen rclone, a slow disk): a service told to stop
    must not wait for the start timeout first (Docker kills it after 10 s, mid-bookkeeping)."""
    never = tmp_path / "rclone-rcd-hangs"
    never.write_text('#!/bin/sh\nif [ "$1" = rcd ]; then exec sleep 600; fi\nexec rclone "$@"\n')
    never.chmod(0o755)
    st = storage["storage"]
    (st / "a.jpg").write_bytes(bs.sample_bytes(1))
    stop = threading.Event()
    old = tools.stop_event()
    tools.set_stop_event(stop)
    daemon = rcd.Daemon(str(never), start_timeout_s=3600)
    outcome: dict = {}

    def upload() -> None:
        try:
            outcome["up"] = rclone.Rclone(str(never), daemon=daemon).upload(
                rclone.local_root(st), "secret:", ["a.jpg"], backup_dir="secret:Attic")
        except rclone.RcloneError as exc:
            outcome["error"] = exc

    try:
        t = in_thread(upload)
        while daemon.group is None:  # started: it now waits for it to listen
            t.join(timeout=0.05)
        stop.set()
        t.join(timeout=120)
        assert not t.is_alive(), "the upload waited for the daemon's start timeout"
    finally:
        daemon.close()
        tools.set_stop_event(old)
    assert outcome.get("error") is not None and outcome["error"].reason == "rclone_stopped", outcome
    assert bs.remote_bytes(remote.folder) == []
    invariants.check(database_url, storage["inbox"], st, set())


@pytest.mark.parametrize("named_by", ["RCLONE_CONFIG", "--config"])
def test_a_rewritten_rclone_config_is_used_by_the_next_batch(database_url, storage, remote, tmp_path, monkeypatch,
                                                           named_by):
    """The daemon keeps the remotes it opened (for a year): a rewrite of the rclone configuration
    (the remote moved to a new disk, same name and keys) must restart it before the next batch,
    or every later batch goes on to the old place. The file may be named by ``RCLONE_CONFIG`` or
    by ``--config`` in ``PF_BACKUP_RCLONE_FLAGS``."""
    flags = ""
    if named_by == "--config":
        monkeypatch.delenv("RCLONE_CONFIG")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no default config to fall back on
        flags = f"--config {remote.config}"
    st = storage["storage"]
    first = [bs.add_asset(database_url, st, n) for n in range(2)]
    w = worker(database_url, st, backup_rclone_flags=flags)
    moved = tmp_path / "new-disk"
    try:
        assert w.work_once() and flagged(database_url) == 2
        remote.config.write_text(remote.config.read_text().replace(str(remote.folder), str(moved)))
        second = [bs.add_asset(database_url, st, n) for n in range(2, 4)]
        assert w.work_once()
    finally:
        w.close()
    assert flagged(database_url) == 4
    on_new = sorted(p for p in moved.rglob("*") if p.is_file())
    assert len(on_new) == 2, "the second batch went to the old folder: the daemon kept the old config"
    monkeypatch.setenv("RCLONE_CONFIG", str(remote.config))
    assert remote_sums_match(second)
    invariants.check(database_url, storage["inbox"], st, {a["sha256"] for a in first + second})


def test_a_job_cut_short_is_never_reported_a_success(database_url, storage, tmp_path, remote):
    """A job that rclone ended early (``--max-transfer`` in the user's flags: later files are
    never tried, and never named in its log) failed, as the CLI's exit status says. The one more
    job for the files that failed used to be for the files with a logged error only: when that
    one went through, the upload was reported a success with most files neither copied nor
    failed, and the reason (``remote_transfer_limit``) was gone."""
    root = tmp_path / "src"
    paths = [f"f{n:02d}.bin" for n in range(20)]
    root.mkdir()
    for p in paths:
        (root / p).write_bytes(os.urandom(20 * 1024))
    flags = ("--max-transfer", "50K")
    daemon = rcd.Daemon(flags=flags, prepare=("secret:",))
    try:
        up = rclone.Rclone(extra_flags=flags, daemon=daemon).upload(
            rclone.local_root(root), "secret:", paths, backup_dir="secret:Attic")
    finally:
        daemon.close()
    assert daemon.broken == ""  # the daemon ran it
    assert len(up.copied) < len(paths)
    assert up.failure is not None and up.failure.reason == "remote_transfer_limit", up.failure
    assert up.verified <= {p for p in paths if p in up.copied}
    invariants.check(database_url, storage["inbox"], storage["storage"], set())
