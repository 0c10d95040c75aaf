"""Any file name the kernel accepts is filed under a safe library name, with the original kept.

Hypothesis draws names — arbitrary bytes (control characters, ``\\n``, ``\\r``, invalid UTF-8),
leading and trailing spaces, ``-`` prefixes, lone dots, the NFC and NFD forms of one name in one
folder, multi-byte names up to the 255-byte limit — and the real librarian files real small
JPEGs named so, on one filesystem and across devices (a tmpfs inbox). After each example the
invariant checker runs, and every row's ``original_name_raw`` gives back the exact name.
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from librarian import inbox as inbox_rules
from librarian import organize
from librarian.service import Librarian
from librarian.settings import LibrarianSettings
from photo_factory import loop
from photo_factory import settings as pf_settings
from tests.adversity.filing_support import jpeg_bytes, query, tmpfs, unique_dir, write
from tests.support import invariants

pytestmark = pytest.mark.integration

NAME_MAX = 255


def _ok(name: bytes) -> bool:
    return 0 < len(name) <= NAME_MAX and b"/" not in name and b"\x00" not in name and name not in (b".", b"..")


raw_names = st.binary(min_size=1, max_size=NAME_MAX).filter(_ok)
text_names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                     min_size=1, max_size=80).map(lambda s: s.encode()).filter(_ok)
long_names = st.builds(
    lambda ch, ext: (ch * ((NAME_MAX - len(ext.encode())) // len(ch.encode())) + ext).encode(),
    st.sampled_from(["日", "é", "🌞", "a", "ß", "\u0301"]), st.sampled_from([".jpg", ".JPEG", "", ".jpg  "]))
decorated = st.builds(
    lambda pre, core, post: (pre + core + post).encode(),
    st.sampled_from(["", " ", "   ", "-", "--", "\n", "\r", "\t", "\x1b[31m", ". ", "..."]),
    st.sampled_from(["IMG_0001", "", "photo", "ÉTÉ", "a\nb", "x\x7fy"]),
    st.sampled_from([".jpg", ".jpg ", " .jpg", "", ".", " ", "\n.jpg"])).filter(_ok)
names = st.one_of(raw_names, text_names, long_names, decorated)


def _nfc_nfd(s: str) -> list[bytes]:
    return [unicodedata.normalize(f, s).encode() for f in ("NFC", "NFD")]


nfc_pairs = st.text(st.sampled_from("éüåñçÅ日a "), min_size=1, max_size=20).map(lambda s: s + ".jpg").map(_nfc_nfd)


@pytest.fixture(params=["same-fs", "other-fs"])
def inbox_dir(request: pytest.FixtureRequest, storage: dict[str, Path], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch, pf_env: dict[str, str]) -> Iterator[Path]:
    if request.param == "same-fs":
        yield storage["inbox"]
        return
    with tmpfs(tmp_path / "xdev") as mnt:
        monkeypatch.setenv("PF_INBOX_DIR", str(mnt))
        yield mnt


def _run_once() -> None:
    core = pf_settings.load(pf_settings.CoreSettings)
    lib = Librarian(core, pf_settings.load(LibrarianSettings, stability_seconds=0.0), once=True)
    lib.start()
    try:
        loop.run(lib.work_once, stopper=lib.stopper, heartbeat=None, idle_seconds=0.05, once=True)
    finally:
        lib.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(batch=st.lists(names, min_size=1, max_size=4), pair=st.one_of(st.none(), nfc_pairs))
def test_any_file_name_is_filed_safely_with_the_original_kept(
        batch: list[bytes], pair: list[bytes] | None, inbox_dir: Path, database_url: str,
        storage: dict[str, Path]) -> None:
    seeds = _SEEDS
    originals = _ORIGINALS.setdefault(database_url, set())
    folder = unique_dir(inbox_dir)
    expected: dict[bytes, str] = {}  # name -> content hash, for names the librarian takes
    for name in dict.fromkeys([*batch, *(pair or [])]):  # unique, in order
        data = jpeg_bytes(next(seeds))
        write(os.fsencode(folder) + b"/" + name, data)
        if not inbox_rules.is_ignored(os.fsdecode(name)):
            expected[name] = invariants.sha256(Path(os.fsdecode(os.fsencode(folder) + b"/" + name)))
    _run_once()
    originals.update(expected.values())
    invariants.check(database_url, inbox_dir, storage["storage"], originals)
    rows = {r["sha256"].strip(): r for r in query(
        database_url, "SELECT sha256, library_path, original_name, original_name_raw FROM media_assets")}
    for name, digest in expected.items():
        row = rows[digest]
        assert organize.name_from_db(row["original_name_raw"]) == name
        lib_name = row["library_path"].rsplit("/", 1)[1]
        assert lib_name.isprintable() and lib_name.strip() and not lib_name.startswith(("-", "."))
        assert len(lib_name.encode()) <= NAME_MAX
    # the leftovers of ignored names are the test's, not the librarian's
    for p in invariants.files(folder):
        p.unlink()


_SEEDS = itertools.count(1_000)
_ORIGINALS: dict[str, set[str]] = {}
