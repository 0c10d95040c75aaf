"""Filing under adversity: long names across devices, a journal entry that cannot be replayed,
Retry across devices, undeletable and unreadable sources, a file replaced while its batch is
filed, bit rot behind a duplicate, special files across devices, hard links from outside the
inbox, names made of spaces. Each runs the real ``photo-factory librarian --once`` and ends with
the invariant checker."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from librarian import organize
from tests.adversity.filing_support import jpeg_bytes, query, run_librarian, tmpfs, write
from tests.support import invariants

pytestmark = pytest.mark.integration


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def xdev(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs: another device than the storage (the inbox of the cross-device cases)."""
    with tmpfs(tmp_path / "xdev") as mnt:
        yield mnt


@pytest.fixture(params=["same-fs", "other-fs"])
def layout(request: pytest.FixtureRequest, pf_env: dict[str, str], storage: dict[str, Path],
           tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """(environment, inbox): the inbox on the storage's filesystem, or on a tmpfs."""
    if request.param == "same-fs":
        yield pf_env, storage["inbox"]
        return
    with tmpfs(tmp_path / "xdev") as mnt:
        inbox = mnt / "inbox"
        inbox.mkdir()
        yield {**pf_env, "PF_INBOX_DIR": str(inbox)}, inbox


# -- 5: names long in bytes, and a journal entry that cannot be replayed -----------------------
def test_long_multibyte_names_are_filed_across_devices_and_every_start_succeeds(
        xdev: Path, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = xdev / "inbox"
    env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
    long_ja = "日" * 83 + ".jpg"  # 253 bytes
    assert len(long_ja.encode()) == 253
    datas = [write(inbox / long_ja, jpeg_bytes(1)),
             write(inbox / "b" / long_ja, jpeg_bytes(2)),  # same name: the _1 suffix must fit too
             write(inbox / ("é" * 125 + ".jpeg"), jpeg_bytes(3)),  # 255 bytes
             write(inbox / ("x" * 251 + ".jpg"), jpeg_bytes(4))]
    log = tmp_path / "librarian.log"
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    for rel in [r["library_path"] for r in query(database_url, "SELECT library_path FROM media_assets")]:
        assert all(len(part.encode()) <= 255 for part in rel.split("/"))
    invariants.check(database_url, inbox, storage["storage"], {sha(d) for d in datas})


def test_a_journal_entry_that_cannot_be_replayed_is_set_aside_and_the_rest_goes_on(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox, store = storage["inbox"], storage["storage"]
    poisoned = write(inbox / "poisoned.jpg", jpeg_bytes(10))
    others = [write(inbox / f"ok{i}.jpg", jpeg_bytes(11 + i)) for i in range(3)]
    (store / "Library" / "2024" / "2024-01-31").mkdir(parents=True)
    query(database_url, "INSERT INTO ingest_journal (action, source_abs, dest_rel, temp_rel, sha256, payload)"
          " VALUES ('file', %s, 'Library/2024/2024-01-31/poisoned.jpg', %s, %s, '{}'),"
          "        ('file', %s, 'Library/2024/2024-01-31', NULL, %s, '{}')",
          str(inbox / "poisoned.jpg"), "Library/2024/2024-01-31/.pf-tmp-" + "日" * 90, sha(poisoned),
          str(inbox / "gone.jpg"), "0" * 64)
    log = tmp_path / "librarian.log"
    assert run_librarian(pf_env, log) == 0, log.read_text()[-3000:]
    aside = query(database_url, "SELECT detail FROM ingest_events WHERE kind = 'journal_set_aside'")
    assert len(aside) == 2 and all(a["detail"]["error"] for a in aside)
    assert run_librarian(pf_env, log) == 0
    invariants.check(database_url, inbox, store, {sha(d) for d in [poisoned, *others]})


# -- 6: Retry across devices ------------------------------------------------------------------
def test_retry_moves_a_quarantined_file_back_across_devices(
        xdev: Path, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = xdev / "inbox"
    env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
    notes = write(inbox / "notes.txt", b"not a photo\n" * 10)
    link_target = write(tmp_path / "target.jpg", jpeg_bytes(20))
    os.symlink(tmp_path / "target.jpg", inbox / "link.jpg")
    log = tmp_path / "librarian.log"
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    assert len(query(database_url, "SELECT id FROM quarantine")) == 2
    query(database_url, "UPDATE quarantine SET status = 'retry_requested'")
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    rows = query(database_url, "SELECT reason, status FROM quarantine ORDER BY id")
    assert [r["status"] for r in rows] == ["released", "released", "quarantined", "quarantined"]
    assert run_librarian(env, log) == 0
    assert (tmp_path / "target.jpg").read_bytes() == link_target
    invariants.check(database_url, inbox, storage["storage"], {sha(notes)})


# -- 7: a source that cannot be removed, a source that cannot be read ----------------------------
def test_an_undeletable_inbox_folder_files_each_file_once(
        layout: tuple[dict[str, str], Path], database_url: str, storage: dict[str, Path], tmp_path: Path):
    env, inbox = layout
    locked = inbox / "locked"
    datas = [write(locked / f"IMG_{i}.jpg", jpeg_bytes(30 + i)) for i in range(3)]
    junk = write(locked / "notes.txt", b"not a photo\n" * 10)
    free = write(inbox / "free.jpg", jpeg_bytes(40))
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        log = tmp_path / "librarian.log"
        for _ in range(3):
            assert run_librarian(env, log) == 0, log.read_text()[-3000:]
        kept = query(database_url, "SELECT source_path FROM ingest_events WHERE kind = 'source_not_removed'")
        assert sorted(r["source_path"] for r in kept) == sorted(
            f"locked/{n}" for n in ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg", "notes.txt"])
        assert len(query(database_url, "SELECT id FROM media_assets")) == 4
        assert len(query(database_url, "SELECT id FROM quarantine")) == 1
        invariants.check(database_url, inbox, storage["storage"], {sha(d) for d in [*datas, junk, free]})
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)
    # once the folder can be written again, the kept copies go at the next pass (never re-filed)
    assert run_librarian(env, tmp_path / "librarian.log") == 0
    assert not any(locked.iterdir())
    assert len(query(database_url, "SELECT id FROM media_assets")) == 4
    invariants.check(database_url, inbox, storage["storage"], {sha(d) for d in [*datas, junk, free]})


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A folder every user can reach (the test's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="pf-nonroot-"))
    d.chmod(0o755)
    with tmpfs(d / "fs", size="32m") as mnt:
        mnt.chmod(0o777)
        yield mnt
    os.rmdir(d / "fs")
    os.rmdir(d)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the librarian as another user")
@pytest.mark.parametrize("other_fs", [False, True], ids=["same-fs", "other-fs"])
def test_a_file_the_service_cannot_read_is_quarantined_or_recorded_as_unreadable(
        other_fs: bool, shared_root: Path, pf_env: dict[str, str], database_url: str, tmp_path: Path):
    nobody = 65534
    storage_dir = shared_root / "storage"
    inbox = shared_root / "inbox"
    for d in (storage_dir, inbox):
        d.mkdir()
        os.chown(d, nobody, nobody)
    env = {**pf_env, "PF_INBOX_DIR": str(inbox), "PF_STORAGE_DIR": str(storage_dir), "HOME": str(shared_root)}
    secret = write(inbox / "private.jpg", jpeg_bytes(50))
    os.chmod(inbox / "private.jpg", 0o600)  # root's, mode 600: the service cannot read it
    ok = write(inbox / "ok.jpg", jpeg_bytes(51))
    os.chown(inbox / "ok.jpg", nobody, nobody)
    if other_fs:
        with tmpfs(shared_root / "storage", size="16m") as mnt:
            mnt.chmod(0o777)
            _run_unreadable(env, database_url, inbox, mnt, secret, ok, nobody, tmp_path, other_fs)
    else:
        _run_unreadable(env, database_url, inbox, storage_dir, secret, ok, nobody, tmp_path, other_fs)


def _run_unreadable(env: dict[str, str], database_url: str, inbox: Path, storage_dir: Path, secret: bytes,
                    ok: bytes, nobody: int, tmp_path: Path, other_fs: bool) -> None:
    env = {**env, "PF_STORAGE_DIR": str(storage_dir)}
    log = tmp_path / "librarian.log"
    for _ in range(2):
        assert run_librarian(env, log, user=nobody) == 0, log.read_text()[-3000:]
    q = [r["reason"] for r in query(database_url, "SELECT reason FROM quarantine")]
    kept = [k["detail"]["reason"] for k in query(
        database_url, "SELECT detail FROM ingest_events WHERE kind = 'left_in_inbox'")]
    # one filesystem: renamed into quarantine; across devices it cannot be copied: recorded in place
    assert (q, kept) == (([], ["unreadable"]) if other_fs else (["unreadable"], []))
    invariants.check(database_url, inbox, storage_dir, {sha(secret), sha(ok)})


# -- 8: a file replaced while its batch is being filed ----------------------------------------------
@pytest.mark.parametrize(("hook", "other_fs"), [
    ("librarian.ingest:Ingestor._file_planned|A.jpg", False),  # after hashing, before the link
    ("librarian.organize:place|A.jpg", True),  # across devices: after the copy, before the source goes
    ("librarian.organize:copy_verified|A.jpg", True),  # across devices: before the copy
], ids=["before-link", "after-copy", "before-copy"])
def test_a_file_replaced_during_its_batch_is_filed_with_its_own_record(
        hook: str, other_fs: bool, request: pytest.FixtureRequest, pf_env: dict[str, str],
        database_url: str, storage: dict[str, Path], tmp_path: Path):
    if other_fs:
        inbox = request.getfixturevalue("xdev") / "inbox"
        inbox.mkdir()
    else:
        inbox = storage["inbox"]
    env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
    old = write(inbox / "A.jpg", jpeg_bytes(60, size=(64, 48)))
    new = jpeg_bytes(61, size=(64, 48))
    others = [write(inbox / f"B{i}.jpg", jpeg_bytes(62 + i)) for i in range(3)]
    write(inbox / ".syncthing.A.jpg.tmp", new)
    log = tmp_path / "librarian.log"
    rc = run_librarian(env, log, hook=f"{hook}|replace:{inbox / '.syncthing.A.jpg.tmp'}|{inbox / 'A.jpg'}")
    assert rc == 0, log.read_text()[-3000:]
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    shas = {r["sha256"] for r in query(database_url, "SELECT sha256 FROM media_assets")}
    assert sha(new) in shas
    invariants.check(database_url, inbox, storage["storage"], {sha(d) for d in [old, new, *others]},
                     missing_ok={sha(old)})


# -- 9: bit rot behind a duplicate ----------------------------------------------------------------
def test_a_duplicate_never_replaces_trust_in_a_rotten_library_copy(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox, store = storage["inbox"], storage["storage"]
    good = write(inbox / "IMG_1.jpg", jpeg_bytes(70, size=(64, 48)))
    log = tmp_path / "librarian.log"
    assert run_librarian(pf_env, log) == 0
    [row] = query(database_url, "SELECT library_path FROM media_assets")
    lib = store / row["library_path"]
    rotten = bytearray(lib.read_bytes())
    rotten[len(rotten) // 2] ^= 0x01  # one flipped bit, same size
    lib.write_bytes(bytes(rotten))
    write(inbox / "again" / "IMG_1.jpg", good)
    assert run_librarian(pf_env, log) == 0, log.read_text()[-3000:]
    assert lib.read_bytes() == good
    [q] = query(database_url, "SELECT reason, sha256 FROM quarantine")
    assert q["reason"] == "library_mismatch" and q["sha256"] == sha(bytes(rotten))
    assert query(database_url, "SELECT kind FROM ingest_events WHERE kind = 'bit_rot'")
    assert not query(database_url, "SELECT kind FROM ingest_events WHERE kind = 'duplicate_removed'")
    invariants.check(database_url, inbox, store, {sha(good), sha(bytes(rotten))})


# -- 11: special files, hard links from outside, names of spaces ---------------------------------
def test_fifos_and_sockets_are_quarantined_across_devices(
        xdev: Path, pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox = xdev / "inbox"
    env = {**pf_env, "PF_INBOX_DIR": str(inbox)}
    photo = write(inbox / "IMG.jpg", jpeg_bytes(80))
    os.mkfifo(inbox / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "sock.jpg"))
    sock.close()
    log = tmp_path / "librarian.log"
    assert run_librarian(env, log) == 0, log.read_text()[-3000:]
    assert run_librarian(env, log) == 0
    q = query(database_url, "SELECT reason, quarantine_path FROM quarantine ORDER BY id")
    assert [r["reason"] for r in q] == ["not_regular_file", "not_regular_file"]
    modes = sorted(stat.S_IFMT(os.lstat(storage["storage"] / r["quarantine_path"]).st_mode) for r in q)
    assert modes == sorted([stat.S_IFIFO, stat.S_IFSOCK])
    invariants.check(database_url, inbox, storage["storage"], {sha(photo)})


def test_a_hard_link_from_outside_the_inbox_is_copied_not_linked(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox, store = storage["inbox"], storage["storage"]
    outside = tmp_path / "outside.jpg"
    data = write(outside, jpeg_bytes(90))
    os.link(outside, inbox / "linked.jpg")
    log = tmp_path / "librarian.log"
    assert run_librarian(pf_env, log) == 0
    with open(outside, "r+b") as f:  # the outside file is edited in place
        f.seek(100)
        f.write(b"\x00" * 16)
    [row] = query(database_url, "SELECT library_path, sha256 FROM media_assets")
    assert os.stat(store / row["library_path"]).st_ino != os.stat(outside).st_ino
    invariants.check(database_url, inbox, store, {sha(data)})


def test_names_of_spaces_and_leading_spaces_are_filed_visibly(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    inbox, store = storage["inbox"], storage["storage"]
    names = ["   .jpg", " IMG_1.jpg", "  IMG_2.jpg  ", "   ", "-rf.jpg", "\r\n.jpg"]
    datas = [write(inbox / n, jpeg_bytes(100 + i)) for i, n in enumerate(names)]
    log = tmp_path / "librarian.log"
    assert run_librarian(pf_env, log) == 0, log.read_text()[-3000:]
    assert run_librarian(pf_env, log) == 0
    rows = query(database_url, "SELECT library_path, original_name_raw FROM media_assets")
    assert sorted(organize.name_from_db(r["original_name_raw"]) for r in rows) == sorted(os.fsencode(n)
                                                                                       for n in names)
    for r in rows:
        name = r["library_path"].rsplit("/", 1)[1]
        assert name == organize.safe_name(name) and not name.startswith((".", "-")) and name.strip()
    assert not query(database_url,
                     "SELECT id FROM ingest_events WHERE kind IN ('missing_original', 'registered_orphan')")
    invariants.check(database_url, inbox, store, {sha(d) for d in datas})
