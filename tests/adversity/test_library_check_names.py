"""The start-up library check against names put into the library by hand: a name the check once
registered with a tab, a backslash, a newline (or what a line-based or COPY listing would read as
an escape) must read back as itself at every start, or it is reported missing and registered
again and again; a name that is not UTF-8 must never stop the librarian."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from librarian import organize
from tests.adversity.filing_support import query
from tests.adversity.test_hostile_names import jpeg
from tests.support import invariants

CLI = str(Path(sys.executable).with_name("photo-factory"))

#: What COPY's text format escapes (or could be mistaken for), in names a user can give a file.
NAMES = ["tab\there.jpg", "back\\slash.jpg", "new\nline.jpg", "cr\rhere.jpg", "\\N", "ends in \\",
         "\\\\double.jpg", "bs\\tnot a tab.jpg", "日本\\n語.jpg", "plain.jpg"]


def _once(pf_env: dict[str, str]) -> str:
    proc = subprocess.run([CLI, "librarian", "--once"], env={**pf_env, "PF_STABILITY_SECONDS": "0"},
                          capture_output=True, text=True, errors="replace", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_hand_placed_library_names_read_back_as_themselves_at_every_start(pf_env, storage, database_url):
    day = storage["storage"] / "Library" / "2024" / "2024-05-06"
    day.mkdir(parents=True)
    originals = {jpeg(day / name, 400 + i) for i, name in enumerate(NAMES)}
    first = _once(pf_env)
    assert f"{len(NAMES)} registered, 0 missing" in first, first
    recorded = {r["library_path"] for r in query(database_url, "SELECT library_path FROM media_assets")}
    assert recorded == {f"Library/2024/2024-05-06/{n}" for n in NAMES}
    second = _once(pf_env)  # the next start reads them back
    assert f"{len(NAMES)} files, 0 registered, 0 missing" in second, second
    events = query(database_url, "SELECT kind, count(*) AS n FROM ingest_events GROUP BY kind")
    assert {e["kind"]: e["n"] for e in events} == {"registered_orphan": len(NAMES)}
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_a_file_deleted_from_the_library_is_reported_missing_once(pf_env, storage, database_url):
    day = storage["storage"] / "Library" / "2024" / "2024-05-07"
    day.mkdir(parents=True)
    originals = {jpeg(day / name, 500 + i) for i, name in enumerate(NAMES[:3])}
    _once(pf_env)
    gone = day / NAMES[2]
    os.unlink(gone)
    assert "0 registered, 1 missing" in _once(pf_env)
    assert "0 registered, 1 missing" in _once(pf_env)
    missing = query(database_url, "SELECT detail->>'library_path' AS p FROM ingest_events "
                                  "WHERE kind = 'missing_original'")
    assert [m["p"] for m in missing] == [f"Library/2024/2024-05-07/{NAMES[2]}"]
    originals.add(jpeg(gone, 502))  # put back: its row has its file again
    assert "3 files, 0 registered, 0 missing" in _once(pf_env)
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_a_library_file_whose_name_is_not_utf8_is_registered_under_a_library_name(pf_env, storage,
                                                                                    database_url):
    """It used to crash every start: the name could not be sent to the database, neither as the
    row nor as the error event about it."""
    day = storage["storage"] / "Library" / "2024" / "2024-05-08"
    day.mkdir(parents=True)
    originals = {jpeg(os.path.join(os.fsencode(day), b"bad\xff name.jpg"), 600),
                 jpeg(day / "bad\ufffd name.jpg", 601)}  # where the replacement name would go
    assert "2 registered, 0 missing" in _once(pf_env)
    assert "2 files, 0 registered, 0 missing" in _once(pf_env)
    rows = query(database_url, "SELECT library_path, original_name_raw FROM media_assets ORDER BY id")
    paths = {r["library_path"] for r in rows}
    assert paths == {"Library/2024/2024-05-08/bad\ufffd name.jpg", "Library/2024/2024-05-08/bad\ufffd name_1.jpg"}
    raw = {r["library_path"]: organize.name_from_db(r["original_name_raw"]) for r in rows}
    assert b"bad\xff name.jpg" in raw.values()
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_a_library_folder_whose_name_is_not_utf8_is_reported_not_fatal(pf_env, storage, database_url):
    folder = os.path.join(os.fsencode(storage["storage"]), b"Library", b"2024", b"odd\xfe")
    os.makedirs(folder)
    originals = {jpeg(os.path.join(folder, b"IMG_1.jpg"), 700)}
    out = _once(pf_env)
    assert "0 registered, 0 missing" in out and "its folder's name is not valid UTF-8" in out, out
    [event] = query(database_url, "SELECT detail->>'problem' AS problem FROM ingest_events WHERE kind = 'error'")
    assert event["problem"] == "library file without a row could not be registered"
    os.rename(folder, os.path.join(os.fsencode(storage["storage"]), b"Library", b"2024", b"odd"))  # the fix
    assert "1 registered, 0 missing" in _once(pf_env)
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)
