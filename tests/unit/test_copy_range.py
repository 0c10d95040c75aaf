"""files.copy_range_atomically: a byte range copied unchanged, refused by its check without a trace,
never a half file at the destination, the source only read."""

from __future__ import annotations

import hashlib
import os

import pytest

from photo_factory import files


def test_a_range_is_copied_unchanged_and_the_source_is_only_read(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))
    before = (hashlib.sha256(src.read_bytes()).hexdigest(), src.stat().st_mtime_ns)
    dest = tmp_path / "out" / "video.mp4"
    files.copy_range_atomically(src, 12345, 2 << 20, dest, tmp_dir=tmp_path / ".tmp")
    assert dest.read_bytes() == src.read_bytes()[12345:12345 + (2 << 20)]
    assert (hashlib.sha256(src.read_bytes()).hexdigest(), src.stat().st_mtime_ns) == before
    assert os.listdir(tmp_path / ".tmp") == []


def test_a_refused_copy_leaves_nothing_and_keeps_the_old_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 100)
    dest = tmp_path / "video.mp4"
    dest.write_bytes(b"old")

    def refuse(tmp):
        assert tmp.read_bytes() == b"x" * 10  # the check sees the whole, synced copy
        raise ValueError("not playable")

    with pytest.raises(ValueError):
        files.copy_range_atomically(src, 0, 10, dest, tmp_dir=tmp_path / ".tmp", check=refuse)
    assert dest.read_bytes() == b"old" and os.listdir(tmp_path / ".tmp") == []
    with pytest.raises(OSError, match="ended 40 bytes before"):
        files.copy_range_atomically(src, 60, 80, dest, tmp_dir=tmp_path / ".tmp")
    assert dest.read_bytes() == b"old" and os.listdir(tmp_path / ".tmp") == []
