"""The librarian against real PostgreSQL and real ExifTool, on real generated media."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime

import pytest

from tests.integration.librarian.conftest import files
from tests.support import samples

pytestmark = pytest.mark.integration


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_photo_is_filed_by_its_capture_date_with_its_metadata(storage, ingest, query):
    inbox, store = storage["inbox"], storage["storage"]
    src = samples.photo(inbox / "DCIM" / "IMG_0001.JPG", "2024:01:31 23:59:59", offset="+01:00",
                        gps=(48.137, 11.575), make="Google", model="Pixel 8")
    digest = sha(src)
    ingest()
    assert files(inbox) == []
    assert files(store / "Library") == ["2024/2024-01-31/IMG_0001.JPG"]
    [row] = query("SELECT * FROM media_assets")
    assert row["sha256"] == digest and row["library_path"] == "Library/2024/2024-01-31/IMG_0001.JPG"
    assert row["source_path"] == "DCIM/IMG_0001.JPG" and row["original_name"] == "IMG_0001.JPG"
    assert row["captured_at"] == datetime(2024, 1, 31, 22, 59, 59, tzinfo=UTC)
    assert row["capture_date"] == date(2024, 1, 31)
    assert (row["date_source"], row["tz_source"]) == ("EXIF:DateTimeOriginal", "EXIF:OffsetTimeOriginal")
    assert (row["camera_make"], row["camera_model"], row["width"], row["height"]) == ("Google", "Pixel 8", 64, 48)
    assert row["location"] == {"lat": 48.137, "lon": 11.575}
    assert (row["media_type"], row["mime_type"]) == ("image", "image/jpeg")
    assert not (row["is_thumbnailed"] or row["is_geocoded"] or row["is_backed_up"])
    assert row["metadata"]["EXIF:Model"] == "Pixel 8"


def test_every_supported_format_is_filed(storage, ingest, query):
    inbox = storage["inbox"]
    for i, name in enumerate(["a.png", "a.webp", "a.gif", "a.tif", "a.heic"]):
        samples.image(inbox / name, seed=i)
    for name in ["v.mp4", "v.mov", "v.mkv", "v.avi", "v.3gp", "v.m4v"]:
        samples.video(inbox / name, creation_time="2024-02-01T10:00:00Z")
    ingest()
    assert files(inbox) == []
    rows = {r["original_name"]: r for r in query("SELECT * FROM media_assets")}
    assert set(rows) == {"a.png", "a.webp", "a.gif", "a.tif", "a.heic", "v.mp4", "v.mov", "v.mkv", "v.avi",
                         "v.3gp", "v.m4v"}
    assert rows["v.mp4"]["media_type"] == "video" and rows["v.mp4"]["duration_s"] == pytest.approx(1.0, abs=0.2)
    # QuickTime dates are UTC: 10:00Z is 11:00 in Berlin
    assert rows["v.mov"]["captured_local"] == datetime(2024, 2, 1, 11, 0)
    assert rows["v.mkv"]["date_source"] == "Matroska:DateTimeOriginal"
    assert rows["a.png"]["date_source"] == "mtime"
    assert query("SELECT count(*) AS n FROM quarantine")[0]["n"] == 0


def test_a_duplicate_is_removed_from_the_inbox_only_when_the_library_copy_is_there(storage, ingest, query):
    inbox, store = storage["inbox"], storage["storage"]
    samples.photo(inbox / "IMG_1.JPG", seed=3)
    ingest()
    samples.photo(inbox / "again" / "IMG_1 copy.JPG", seed=3)
    ingest()
    assert files(inbox) == []
    assert files(store / "Library") == ["2024/2024-01-31/IMG_1.JPG"]
    kinds = [r["kind"] for r in query("SELECT kind FROM ingest_events ORDER BY id")]
    assert kinds == ["ingested", "duplicate_removed"]


def test_a_duplicate_restores_a_missing_library_copy(storage, ingest, query):
    inbox, store = storage["inbox"], storage["storage"]
    samples.photo(inbox / "IMG_1.JPG", seed=4)
    ingest()
    lib = store / "Library/2024/2024-01-31/IMG_1.JPG"
    digest = sha(lib)
    lib.unlink()  # a disk problem lost the library copy
    samples.photo(inbox / "IMG_1.JPG", seed=4)
    ingest()
    assert sha(lib) == digest and files(inbox) == []
    assert query("SELECT count(*) AS n FROM media_assets")[0]["n"] == 1
    assert "duplicate_restored" in [r["kind"] for r in query("SELECT kind FROM ingest_events")]


def test_a_name_collision_with_different_content_gets_a_suffix(storage, ingest, query):
    inbox, store = storage["inbox"], storage["storage"]
    samples.photo(inbox / "a" / "IMG_1.JPG", seed=1)
    samples.photo(inbox / "b" / "IMG_1.JPG", seed=2)
    ingest()
    assert files(store / "Library") == ["2024/2024-01-31/IMG_1.JPG", "2024/2024-01-31/IMG_1_1.JPG"]


@pytest.mark.parametrize("make, reason", [
    (lambda d: (d / "empty.jpg").write_bytes(b""), "empty_file"),
    (lambda d: (d / "notes.txt").write_text("hello"), "unsupported_type"),
    (lambda d: (d / "fake.jpg").write_bytes(b"this is not an image at all" * 10), "unsupported_type"),
    (lambda d: samples.truncated(samples.image(d / "x.jpg", size=(300, 200)), d / "cut.jpg"), "truncated"),
    (lambda d: os.symlink("/etc/hostname", d / "escape.jpg"), "symlink"),
    (lambda d: os.mkfifo(d / "pipe.jpg"), "not_regular_file"),
])
def test_what_cannot_be_ingested_is_quarantined_with_its_reason(storage, ingest, query, make, reason):
    inbox, store = storage["inbox"], storage["storage"]
    make(inbox)
    if (inbox / "x.jpg").exists():
        (inbox / "x.jpg").unlink()
    ingest()
    assert files(inbox) == []
    [q] = query("SELECT * FROM quarantine")
    assert q["reason"] == reason and q["status"] == "quarantined"
    assert os.path.lexists(store / q["quarantine_path"])
    assert q["quarantine_path"].startswith(f"Quarantine/{reason}/")
    assert query("SELECT count(*) AS n FROM media_assets")[0]["n"] == 0
    if reason == "symlink":
        assert os.path.exists("/etc/hostname")  # the target was never touched


def test_a_png_named_jpg_is_filed_and_the_mismatch_recorded(storage, ingest, query):
    samples.image(storage["inbox"] / "really_png.jpg", "PNG")
    ingest()
    [row] = query("SELECT file_type, original_name, metadata FROM media_assets")
    assert row["file_type"] == "PNG" and row["original_name"] == "really_png.jpg"
    assert "PF:ExtensionMismatch" in row["metadata"]


def test_unicode_and_odd_names_are_kept(storage, ingest, query):
    inbox = storage["inbox"]
    names = ["été 🌞.jpg", "with space & 'quote'.jpg", "日本語.JPG"]
    for i, n in enumerate(names):
        samples.photo(inbox / n, seed=10 + i)
    raw = os.fsencode(inbox) + b"/caf\xe9.jpg"  # not valid UTF-8
    samples.photo(inbox / "tmp.jpg", seed=20)
    os.rename(inbox / "tmp.jpg", raw)
    ingest()
    assert files(inbox) == []
    got = sorted(r["original_name"] for r in query("SELECT original_name FROM media_assets"))
    assert got == sorted([*names, "caf\ufffd.jpg"])


def test_syncthing_temporaries_and_control_entries_are_left_alone(storage, ingest, query):
    inbox = storage["inbox"]
    for name in (".stfolder", ".stignore", ".syncthing.IMG_2.JPG.tmp", "~syncthing~IMG_3.JPG.tmp", ".DS_Store"):
        (inbox / name).write_bytes(b"partial")
    (inbox / ".stversions").mkdir()
    (inbox / ".stversions" / "old.jpg").write_bytes(b"x")
    ingest()
    assert files(inbox) == sorted([".DS_Store", ".stfolder", ".stignore", ".stversions/old.jpg",
                                   ".syncthing.IMG_2.JPG.tmp", "~syncthing~IMG_3.JPG.tmp"])
    assert query("SELECT count(*) AS n FROM quarantine")[0]["n"] == 0


def test_library_files_without_a_row_are_registered_at_start_up(storage, ingest, query):
    lib = storage["storage"] / "Library" / "2023" / "2023-05-05"
    samples.photo(lib / "copied_by_hand.jpg", "2023:05:05 10:00:00", seed=7)
    ingest()
    [row] = query("SELECT library_path, date_source FROM media_assets")
    assert row["library_path"] == "Library/2023/2023-05-05/copied_by_hand.jpg"
    assert query("SELECT kind FROM ingest_events")[0]["kind"] == "registered_orphan"


def test_a_quarantined_file_goes_back_to_the_inbox_when_a_retry_is_requested(storage, ingest, query):
    inbox = storage["inbox"]
    (inbox / "empty.jpg").write_bytes(b"")
    ingest()
    query("UPDATE quarantine SET status = 'retry_requested'")
    # the user fixed the file meanwhile: the retried copy is the real photo
    qpath = storage["storage"] / query("SELECT quarantine_path FROM quarantine")[0]["quarantine_path"]
    samples.photo(qpath, seed=30)
    ingest()
    assert query("SELECT status FROM quarantine")[0]["status"] == "released"
    assert query("SELECT original_name FROM media_assets")[0]["original_name"] == "empty.jpg"


def test_it_files_across_filesystems_by_verified_copy(storage, pf_env, ingest, query, monkeypatch):
    shm = "/dev/shm"
    if not os.path.isdir(shm) or os.stat(shm).st_dev == os.stat(storage["storage"]).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to copy across")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as other:
        monkeypatch.setenv("PF_INBOX_DIR", other)
        src = samples.photo(__import__("pathlib").Path(other) / "IMG_9.JPG", seed=9)
        digest = sha(src)
        ingest()
        assert os.listdir(other) == []
        lib = storage["storage"] / "Library/2024/2024-01-31/IMG_9.JPG"
        assert sha(lib) == digest
        assert not any(p.name.startswith(".pf-tmp-") for p in lib.parent.iterdir())


def test_two_mounts_of_one_disk_are_filed_by_verified_copy(storage, ingest, query, monkeypatch, tmp_path):
    """Docker's usual layout: inbox and storage are bind mounts of one disk, so they share st_dev
    but the kernel refuses links (EXDEV) between them."""
    import subprocess

    mounted = tmp_path / "storage-mount"
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", str(storage["storage"]), str(mounted)],
                      capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not permitted here")
    try:
        monkeypatch.setenv("PF_STORAGE_DIR", str(mounted))
        for i in range(3):
            samples.photo(storage["inbox"] / f"IMG_{i}.JPG", seed=40 + i)
        digests = {sha(p) for p in storage["inbox"].iterdir()}
        ingest()
        assert files(storage["inbox"]) == []
        lib = mounted / "Library/2024/2024-01-31"
        assert {sha(p) for p in lib.iterdir()} == digests
        assert query("SELECT count(*) AS n FROM media_assets")[0]["n"] == 3
        assert query("SELECT count(*) AS n FROM ingest_journal")[0]["n"] == 0
    finally:
        subprocess.run(["umount", str(mounted)], check=False)


def test_a_batch_is_recorded_chunk_by_chunk_so_stage_workers_start_before_it_ends(storage, ingest, query):
    """One batch of 24 photos: the first assets are committed (and notified) after the first
    ExifTool chunk, not with the last file of the batch (the thumbnail workers idled meanwhile).
    Chunks planned while an earlier one is filed share its filing's commit (test_filing_pace.py),
    the first never: it is filed alone."""
    inbox = storage["inbox"]
    for i in range(24):
        samples.photo(inbox / f"IMG_{i:04d}.JPG", f"2024:03:01 10:{i:02d}:00", seed=i)
    lib = ingest(exiftool_batch=64)
    assert files(inbox) == []
    per_commit = [r["n"] for r in query("SELECT count(*) AS n FROM media_assets GROUP BY ingested_at "
                                        "ORDER BY ingested_at")]
    assert sum(per_commit) == 24
    assert per_commit[0] <= 8 and len(per_commit) >= 2, \
        f"the first ExifTool chunk (8 files) is recorded before the rest of the batch, got {per_commit}"
    assert lib is not None
