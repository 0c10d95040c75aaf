"""Red team: hostile names in the inbox the process started ahead reads (librarian/early.py).

A name ExifTool could misread (a newline, bytes that are not UTF-8) is never handed to it ahead;
every other name (unicode, spaces, a leading dash, ``#``, ``%``) gets exactly the answer a fresh
read gives; a file swapped for another of the same size under the same name, or emptied, after
the read ahead is read again. (Held on main.)"""

from __future__ import annotations

import os
import shutil

from librarian import early, metadata
from tests.support import samples
from tests.unit.librarian.test_startup_cost import served_ahead


def test_hostile_names_read_ahead_get_their_own_answer_or_none(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = ["-e.jpg", "# hash %d.jpg", "Ünïcødé 日本.JPG", "line\nbreak.jpg", "swapped.jpg", "emptied.jpg"]
    paths = [samples.photo(inbox / n, model=f"M{i}", seed=i) for i, n in enumerate(names)]
    raw = os.path.join(os.fsencode(inbox), b"bad\xff\xfe.jpg")
    samples.photo(tmp_path / "bad.jpg", model="Raw")
    shutil.copyfile(tmp_path / "bad.jpg", raw)
    paths.append(inbox / os.fsdecode(b"bad\xff\xfe.jpg"))
    monkeypatch.setenv("PF_INBOX_DIR", str(inbox))
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    early.prestart_from_env()
    with early._lock:
        [asked] = early._pending.values()
    assert sorted(os.path.basename(p) for p in asked) == sorted(
        os.fsencode(n) for n in names if "\n" not in n)
    # another photo of the same size under the same name (new inode), and one emptied in place
    other = samples.photo(tmp_path / "other.jpg", model="MX", seed=4)
    assert other.stat().st_size == paths[4].stat().st_size
    os.replace(other, inbox / "swapped.jpg")
    os.truncate(inbox / "emptied.jpg", 0)
    served = served_ahead(monkeypatch)
    reader = metadata.MetadataReader("exiftool", 1)
    try:
        got = reader.read_many(paths)
    finally:
        reader.close()
    assert sorted(served) == sorted(names[:3])  # the swapped and the emptied one were read again
    fresh = metadata.MetadataReader("exiftool", 1)
    try:
        early.discard()
        want = fresh.read_many(paths)
    finally:
        fresh.close()
    for path, g, w in zip(paths, got, want, strict=True):
        assert g == w, path
    models = {p.name: t.get("EXIF:Model") for p, t in zip(paths, got, strict=True)}
    assert models["-e.jpg"] == "M0" and models["Ünïcødé 日本.JPG"] == "M2" and models["swapped.jpg"] == "MX"
    assert models["emptied.jpg"] is None
