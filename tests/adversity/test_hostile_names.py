"""A file name is only ever a file name (issue 10, finding 2).

ExifTool's ``-stay_open`` mode reads one argument per line, and a line starting with ``-`` is an
option: a photo named ``evil\\n-Directory=pfmoved\\nx.jpg`` used to move every other file of its
call into ``./pfmoved/`` of the librarian's working directory, and ``…\\n-overwrite_original\\n
-all=\\n…`` stripped their metadata in place, so their original bytes existed nowhere. Whatever
bytes a name holds (line breaks, control characters, a leading ``-``, ``-@``, ``-execute``,
``-tagsFromFile``, invalid UTF-8), no other file may change or move, nothing may be written
outside the inbox and the storage, and every file is filed (or quarantined) exactly once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from librarian import inbox as inbox_rules
from librarian import metadata
from tests.support import invariants

CLI = str(Path(sys.executable).with_name("photo-factory"))

#: Payloads that were (or could be) read as ExifTool options.
PAYLOADS = [
    b"evil\n-Directory=pfmoved\nx.jpg",
    b"evil\n-overwrite_original\n-all=\nx.jpg",
    b"x\n-tagsFromFile\n@\n-all:all\ny.jpg",
    b"x\n-execute\n-stay_open\nFalse\ny.jpg",
    b"x\n-@\n-\ny.jpg",
    b"x\r\n-Directory=pfmoved\r\ny.jpg",
    b"-tagsFromFile",
    b"-@",
    b"-execute",
    b"-all=.jpg",
    b"#[CSTR]x\\n-all=.jpg",
    b"\xe2\x88\x92Directory=pfmoved.jpg",  # ExifTool reads a leading U+2212 minus as "-"
    b"\xff\xfe\xfd not utf-8.jpg",
    "日本語の写真.jpg".encode(),
    "e\u0301te\u0301.jpg".encode(),  # NFD
    b"tab\there.jpg",
    b"bell\x07\x1b[31m.jpg",
    b"nel\xc2\x85line\xe2\x80\xa8sep.jpg",
]

_ALPHABET = st.sampled_from([b"\n", b"\r", b"-", b"@", b"#", b"=", b"<", b" ", b"\t", b"\x1b", b"\x7f", b"\xff",
                             b"\xc3\xa9", b"\xe2\x88\x92", b"a", b"Z", b"0", b".", b":", b"|", b"*", b"$"])
_WORDS = st.sampled_from([b"-Directory=pfmoved", b"-all=", b"-overwrite_original", b"-execute", b"-@",
                          b"-tagsFromFile", b"-stay_open", b"False", b"-o", b"pfout", b"-w", b"txt"])


def _name(parts: list[bytes], ext: bytes) -> bytes:
    name = b"".join(parts)[:180] + ext
    return name


#: Arbitrary byte names (no "/" or NUL: the file system refuses those), biased towards what
#: ExifTool, ffmpeg or a line-based list could read as something else.
NAMES = st.one_of(
    st.sampled_from(PAYLOADS),
    st.builds(_name, st.lists(st.one_of(_ALPHABET, _WORDS), min_size=1, max_size=12),
              st.sampled_from([b".jpg", b".JPG", b"", b".jpeg"])),
    st.binary(min_size=1, max_size=60).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")),
).filter(lambda n: n not in (b".", b"..") and not inbox_rules.is_ignored(os.fsdecode(n))
         and not n.startswith(b"."))


def jpeg(path: Path | bytes, seed: int) -> bytes:
    """A small real JPEG with EXIF (camera and date), unique per seed; returns its SHA-256."""
    im = Image.new("RGB", (32, 24), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    im.putpixel((seed % 32, (seed // 32) % 24), (255, 255, 255))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PF", f"Model {seed}"  # Make, Model
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    with open(path, "wb") as f:
        im.save(f, "JPEG", exif=exif, quality=90)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(root: Path) -> dict[bytes, str]:
    """Every file below ``root`` (byte paths) with its SHA-256."""
    out = {}
    for folder, _dirs, names in os.walk(os.fsencode(root)):
        for n in names:
            p = os.path.join(folder, n)
            if not os.path.islink(p):
                with open(p, "rb") as f:
                    out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


# -- the metadata reader alone: many names, fast ---------------------------------------------------
@pytest.fixture(scope="module")
def reader():
    r = metadata.MetadataReader(processes=2, timeout_s=60)
    yield r
    r.close()


_counter = iter(range(10**9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=5, unique=True))
def test_no_name_reaches_exiftool_as_anything_but_a_file_name(reader, tmp_path, names):
    n = next(_counter)
    root = tmp_path / f"ex{n}"
    folder, cwd = root / "files", root / "cwd"
    folder.mkdir(parents=True)
    cwd.mkdir()
    good = [folder / f"good{i}.jpg" for i in range(3)]
    for i, p in enumerate(good):
        jpeg(p, n * 10 + i)
    hostile = []
    for i, name in enumerate(names):
        p = os.path.join(os.fsencode(folder), name)
        jpeg(p, n * 10 + 5 + i)
        hostile.append(Path(os.fsdecode(p)))
    before = snapshot(root)
    paths = [*good[:1], *hostile, *good[1:]]  # hostile names between good ones, as in a batch
    old = os.getcwd()
    os.chdir(cwd)
    try:
        tags = reader.read_many(paths)
    finally:
        os.chdir(old)
    assert snapshot(root) == before, "a file was changed, moved or created"
    assert os.listdir(cwd) == []
    for p, t in zip(paths, tags, strict=True):
        assert t.get("PF:Reader") == "exiftool", (p, t)
        assert t.get("EXIF:Make") == "PF", (p, t)
    assert not reader.aliases._dir or os.listdir(reader.aliases._dir) == [], "aliases left behind"


# -- the real librarian ------------------------------------------------------------------------------
def _run_once(pf_env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.2"}
    return subprocess.run([CLI, "librarian", "--once"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _ingest_and_check(pf_env, storage, database_url, tmp_path, names: list[bytes], originals: set[str],
                      seed: int) -> None:
    inbox, cwd = storage["inbox"], tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    for i in range(5):
        originals.add(jpeg(inbox / f"IMG_{seed:04d}_{i}.jpg", seed * 100 + i))
    for i, name in enumerate(names):
        originals.add(jpeg(os.path.join(os.fsencode(inbox), name), seed * 100 + 50 + i))
    proc = _run_once(pf_env, cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.listdir(cwd) == [], f"written into the working directory: {os.listdir(cwd)}"
    assert sorted(os.listdir(tmp_path)) == ["cwd", "inbox", "storage"]
    invariants.check(database_url, inbox, storage["storage"], originals)


@pytest.mark.parametrize("payload", [PAYLOADS[0], PAYLOADS[1]], ids=["directory", "strip_all"])
def test_a_name_with_exiftool_options_moves_or_strips_no_other_file(pf_env, storage, database_url, tmp_path,
                                                                     payload):
    _ingest_and_check(pf_env, storage, database_url, tmp_path, [payload], set(), seed=1)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_the_librarian_files_arbitrary_byte_names_and_touches_nothing_else(pf_env, storage, database_url,
                                                                           tmp_path, names):
    # one database and storage for all examples: the originals accumulate
    originals = _ORIGINALS.setdefault(database_url, set())
    _ingest_and_check(pf_env, storage, database_url, tmp_path, names, originals, seed=len(originals) + 2)


_ORIGINALS: dict[str, set[str]] = {}
