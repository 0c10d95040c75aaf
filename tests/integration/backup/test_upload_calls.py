"""How many rclone calls a batch costs, and with which protection: new files go in one call
with ``--ignore-existing`` (nothing on the remote can be replaced, and no ``--backup-dir``, which
made rclone 1.60 15-30 % slower); only files already on the remote get a second call with
``--backup-dir`` (a different copy goes to the attic first). The same for the jobs of the
long-lived ``rclone rcd`` (their ``_config``) as for ``rclone copy`` calls (their flags)."""

from __future__ import annotations

import pytest

from photo_factory.settings import CoreSettings
from processor.backup import rcd
from processor.backup.service import BackupWorker
from processor.backup.settings import BackupSettings
from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


def copies(log) -> list[list[str]]:
    return [c[1:] for c in bs.recorded_argv(log) if c[1:2] == ["copy"]]


@pytest.mark.parametrize("daemon", [True, False], ids=["rclone-rcd", "rclone-copy"])
def test_new_files_take_one_call_without_backup_dir_and_files_already_there_a_second_with_it(
    database_url, storage, remote, tmp_path, monkeypatch, daemon
):
    log = bs.record_argv(tmp_path, monkeypatch, ("rclone",))
    jobs: list[list[str]] = []  # the daemon's jobs, as the flags a CLI call would have had
    real = rcd.Daemon.copy

    def spied(self, src, dest, rel_paths, config, on_line, timeout_s):
        jobs.append((["--ignore-existing"] if config.get("IgnoreExisting") else [])
                    + (["--backup-dir", config["BackupDir"]] if config.get("BackupDir") else []))
        return real(self, src, dest, rel_paths, config, on_line, timeout_s)

    monkeypatch.setattr(rcd.Daemon, "copy", spied)
    for n in range(3):
        bs.add_asset(database_url, storage["storage"], n)

    def drain() -> list[list[str]]:
        BackupWorker(CoreSettings(database_url=database_url, storage_dir=storage["storage"]),
                     BackupSettings(backup_remote=remote.name, backup_dumps=False,
                                    backup_rclone_daemon=daemon)).drain()
        calls = list(jobs) if daemon else copies(log)
        assert not (copies(log) if daemon else jobs), "the other upload path was used"
        jobs.clear()
        log.write_text("")
        return calls

    [first] = drain()
    assert "--ignore-existing" in first and "--backup-dir" not in first

    bs.query(database_url, "UPDATE media_assets SET is_backed_up = false")  # e.g. a Retry: all on the remote
    again, existing = drain()
    assert "--ignore-existing" in again and "--backup-dir" in existing
    assert bs.query(database_url, "SELECT count(*) FROM media_assets WHERE is_backed_up") == [(3,)]
