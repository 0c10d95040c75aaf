import hashlib
import os
from datetime import date
from pathlib import Path

import pytest

from librarian import organize


def test_day_folder_is_year_and_iso_date():
    assert str(organize.day_folder(date(2024, 1, 31))) == "Library/2024/2024-01-31"


def test_collision_names_put_the_suffix_before_the_extension():
    names = organize.candidate_names("IMG_1.JPG")
    assert [next(names) for _ in range(3)] == ["IMG_1.JPG", "IMG_1_1.JPG", "IMG_1_2.JPG"]


def test_safe_names_keep_unicode_and_replace_what_a_database_cannot_store():
    assert organize.safe_name("été 🌞.heic") == "été 🌞.heic"
    assert organize.safe_name("a\nb\x00c.jpg") == "a_b_c.jpg"
    bad = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 bytes from an old camera or SMB share
    assert organize.safe_name(bad) == "caf\ufffd.jpg"
    long = "x" * 400 + ".jpg"
    assert organize.safe_name(long).endswith(".jpg") and len(organize.safe_name(long).encode()) <= 240


@pytest.mark.parametrize(("name", "safe"), [
    ("   .jpg", "unnamed.jpg"), ("   ", "unnamed"), (" IMG.jpg", " IMG.jpg"), ("-rf.jpg", "_rf.jpg"),
    (".hidden.jpg", "_hidden.jpg"), ("...", "unnamed"), ("a/b\\c.jpg", "a_b_c.jpg"),
    ("e\u0301.jpg", "\u00e9.jpg"), ("x\u2028y.jpg", "x_y.jpg"), ("\r\n.jpg", "__.jpg"),
])
def test_safe_names_are_printable_visible_and_never_an_option(name, safe):
    assert organize.safe_name(name) == safe


def test_names_are_limited_in_bytes_with_their_collision_suffix():
    name = "日" * 85 + ".jpg"  # 259 bytes: too long for any file system
    safe = organize.safe_name(name)
    assert safe.endswith(".jpg") and len(safe.encode()) <= 240
    names = organize.candidate_names("日" * 83 + ".jpg")  # 253 bytes: fits, but not with "_1"
    first, second = next(names), next(names)
    assert len(first.encode()) == 253 and second.endswith("_1.jpg") and len(second.encode()) <= 255
    assert len(organize.temp_name(Path("/x") / name).name.encode()) < 64


def test_original_names_round_trip_through_the_database_text():
    for raw in [b"caf\xe9.jpg", b"a\nb.jpg", b"b64:x.jpg", "日本.jpg".encode()]:
        assert organize.name_from_db(organize.name_to_db(raw)) == raw


def test_sha256_streams_the_whole_file(tmp_path):
    f = tmp_path / "big.bin"
    data = os.urandom(3 * organize.CHUNK + 17)
    f.write_bytes(data)
    assert organize.sha256_file(f) == (hashlib.sha256(data).hexdigest(), len(data))


def test_place_never_overwrites(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"new")
    b.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        organize.place(a, b)
    assert a.read_bytes() == b"new" and b.read_bytes() == b"old"
    c = tmp_path / "sub" / "c"
    organize.make_dirs(c.parent)
    organize.place(a, c)
    assert not a.exists() and c.read_bytes() == b"new"


def test_a_verified_copy_refuses_a_source_that_changed(tmp_path):
    src, tmp = tmp_path / "src", tmp_path / "tmp"
    src.write_bytes(b"hello")
    with pytest.raises(organize.SourceChanged):  # not the bytes that were hashed: next round
        organize.copy_verified(src, tmp, hashlib.sha256(b"other").hexdigest(), 5)
    assert not tmp.exists() and src.read_bytes() == b"hello"
    organize.copy_verified(src, tmp, hashlib.sha256(b"hello").hexdigest(), 5)
    assert tmp.read_bytes() == b"hello"
