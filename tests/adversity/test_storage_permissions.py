"""A worker started as a user that may not use the storage's folders (a second machine mounting
the share with another uid, a PUID that does not own the storage) says so in one line and exits
1; it does not crash with a traceback. Found by the e2e scale-out story: a host worker whose
user could not read the thumbnails' temporary folder died at start in a PermissionError."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import invariants


@pytest.fixture
def shared_storage():
    """A storage any user can reach (the test's own folder is root's alone), removed after."""
    root = Path(tempfile.mkdtemp(prefix="pf-perm-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_worker_that_may_not_use_the_storage_says_so_in_one_line(pf_env, database_url, shared_storage):
    storage, inbox = shared_storage / "storage", shared_storage / "inbox"
    (storage / "Derivatives" / "thumbnails" / ".tmp").mkdir(parents=True)
    (storage / "Derivatives" / "thumbnails" / ".tmp").chmod(0o700)  # root's: another machine's user
    inbox.mkdir()
    for folder in (storage, inbox):
        folder.chmod(0o755)
    exe = str(Path(sys.executable).with_name("photo-factory"))
    proc = subprocess.run(
        ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", exe, "thumbnails", "--once"],
        env={**pf_env, "PF_STORAGE_DIR": str(storage), "PF_INBOX_DIR": str(inbox), "HOME": str(shared_storage)},
        capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out, out
    assert "cannot run" in out and "Permission denied" in out and "PUID" in out, out
    invariants.check(database_url, inbox, storage, set())
