"""Misconfigured folders: a storage inside the inbox (or the inbox inside the storage, or a local
backup folder in either) is refused by every command before it touches anything; a storage that
a bind mount shows inside the inbox is never taken for inbox content.

Finding 1 of issue 10: with ``PF_STORAGE_DIR`` inside ``PF_INBOX_DIR``, the second
``librarian --once`` took its own library for new files and removed them all as duplicates.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import invariants
from tests.support.backup_samples import sample_jpeg
from tests.support.db import tuples

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")


def _photos(folder: Path, n: int = 10) -> set[str]:
    folder.mkdir(parents=True, exist_ok=True)
    shas = set()
    for i in range(n):
        data = sample_jpeg(1000 + i)
        (folder / f"IMG_{i:04d}.JPG").write_bytes(data)
        shas.add(hashlib.sha256(data).hexdigest())
    return shas


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: folders, links (target) and files (SHA-256)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PHOTO_FACTORY), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


# (name, inbox, storage, backup remote): paths relative to the test's folder; "link" is a
# symlink to "in" made by the test.
LAYOUTS = [
    ("storage-inside-inbox", "in", "in/storage", ""),
    ("inbox-inside-storage", "st/inbox", "st", ""),
    ("same-folder", "in", "in", ""),
    ("storage-via-symlink", "in", "link/storage", ""),
    ("storage-via-dotdot", "in", "st/../in/storage", ""),
    ("relative-inbox-absolute-storage", "in", "{root}/in/Photos", ""),
    ("backup-inside-inbox", "in", "st", "in/backup"),
    ("backup-is-storage", "in", "st", ":local:{root}/st"),
]


@pytest.mark.parametrize(("inbox", "storage", "backup"), [layout[1:] for layout in LAYOUTS],
                         ids=[layout[0] for layout in LAYOUTS])
def test_the_librarian_refuses_overlapping_folders_and_touches_nothing(
        tmp_path: Path, database_url: str, inbox: str, storage: str, backup: str) -> None:
    work = tmp_path / "work"
    originals = _photos(work / "in")
    (work / "link").symlink_to(work / "in")
    env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": inbox.format(root=work),
           "PF_STORAGE_DIR": storage.format(root=work), "PF_BACKUP_REMOTE": backup.format(root=work),
           "PF_STABILITY_SECONDS": "0.1", "PF_DB_WAIT_SECONDS": "5"}
    before = _snapshot(work)
    for _ in range(2):  # the finding needed two runs: the first filed, the second deleted
        res = _run(["librarian", "--once"], env, cwd=work)
        assert res.returncode == 2, res.stdout + res.stderr
        names = {"PF_INBOX_DIR", "PF_STORAGE_DIR", "PF_BACKUP_REMOTE"}
        assert sum(n in res.stderr for n in names) == 2, res.stderr
        assert "Traceback" not in res.stderr
    assert _snapshot(work) == before
    assert tuples(database_url, "SELECT count(*) FROM media_assets") == [(0,)]
    assert tuples(database_url, "SELECT count(*) FROM system_status") == [(0,)]

    # corrected, the same inbox is filed completely
    env.update(PF_INBOX_DIR=str(work / "in"), PF_STORAGE_DIR=str(tmp_path / "storage"), PF_BACKUP_REMOTE="")
    res = _run(["librarian", "--once"], env, cwd=work)
    assert res.returncode == 0, res.stdout + res.stderr
    invariants.check(database_url, work / "in", tmp_path / "storage", originals)


def test_every_command_refuses_a_storage_inside_the_inbox(tmp_path: Path, database_url: str) -> None:
    originals = _photos(tmp_path / "in")
    env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(tmp_path / "in"),
           "PF_STORAGE_DIR": str(tmp_path / "in" / "storage"), "PF_DB_WAIT_SECONDS": "5"}
    before = _snapshot(tmp_path)
    for command in (["migrate"], ["thumbnails", "--once"], ["backup", "--once"], ["geocode", "--once"],
                    ["stitch", "--once"], ["monitor", "--once"], ["status"], ["healthcheck", "librarian"]):
        res = _run(command, env, cwd=tmp_path)
        assert res.returncode == 2, (command, res.stdout + res.stderr)
        assert "PF_STORAGE_DIR" in res.stderr and "PF_INBOX_DIR" in res.stderr, (command, res.stderr)
    assert _snapshot(tmp_path) == before
    env["PF_STORAGE_DIR"] = str(tmp_path / "storage")
    assert _run(["librarian", "--once"], env, cwd=tmp_path).returncode == 0
    invariants.check(database_url, tmp_path / "in", tmp_path / "storage", originals)


@pytest.fixture
def storage_mounted_in_inbox(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The storage, bind-mounted at ``inbox/storage``: no path comparison can see the overlap."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    inbox, storage = tmp_path / "in", tmp_path / "st"
    (inbox / "storage").mkdir(parents=True)
    storage.mkdir()
    subprocess.run(["mount", "--bind", str(storage), str(inbox / "storage")], check=True)
    try:
        yield inbox, storage
    finally:
        subprocess.run(["umount", "-l", str(inbox / "storage")], check=True)


def test_a_storage_that_a_bind_mount_shows_inside_the_inbox_is_never_taken(
        storage_mounted_in_inbox: tuple[Path, Path], database_url: str, tmp_path: Path) -> None:
    inbox, storage = storage_mounted_in_inbox
    originals = _photos(inbox / "DCIM")
    env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(inbox),
           "PF_STORAGE_DIR": str(storage), "PF_STABILITY_SECONDS": "0.1", "PF_DB_WAIT_SECONDS": "5"}
    for _ in range(3):
        res = _run(["librarian", "--once"], env, cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
    assert tuples(database_url, "SELECT count(*) FROM media_assets") == [(len(originals),)]
    assert tuples(database_url, "SELECT count(*) FROM ingest_events WHERE kind <> 'ingested'") == [(0,)]
    invariants.check(database_url, inbox, storage, originals, allow_in_inbox=invariants.files(inbox / "storage"))


def test_an_inbox_that_is_the_library_behind_a_mount_is_refused(tmp_path: Path, database_url: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    storage, inbox = tmp_path / "st", tmp_path / "in"
    originals = _photos(storage / "Library" / "2024" / "2024-01-31")
    inbox.mkdir()
    subprocess.run(["mount", "--bind", str(storage / "Library"), str(inbox)], check=True)
    try:
        env = {**os.environ, "PF_DATABASE_URL": database_url, "PF_INBOX_DIR": str(inbox),
               "PF_STORAGE_DIR": str(storage), "PF_STABILITY_SECONDS": "0.1", "PF_DB_WAIT_SECONDS": "5"}
        before = _snapshot(storage)
        res = _run(["librarian", "--once"], env, cwd=tmp_path)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "PF_INBOX_DIR" in res.stdout + res.stderr
        assert _snapshot(storage) == before
    finally:
        subprocess.run(["umount", "-l", str(inbox)], check=True)
    assert tuples(database_url, "SELECT count(*) FROM media_assets") == [(0,)]
    assert originals  # the library files were never registered, moved or removed
