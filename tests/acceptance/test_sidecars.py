"""Steps for sidecars.feature: the real ``photo-factory librarian --once`` on real files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import samples, sidecar_samples

scenarios("sidecars.feature")
CLI = str(Path(sys.executable).with_name("photo-factory"))


def run_librarian(env: dict[str, str]) -> None:
    proc = subprocess.run([CLI, "librarian", "--once"], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def rows(database_url: str, sql: str) -> list[dict]:
    with psycopg2.connect(database_url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql)
        return [dict(r) for r in cur.fetchall()]


def inbox_files(storage) -> list[str]:
    inbox = storage["inbox"]
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())


@pytest.fixture
def context() -> dict:
    return {}


@given("a Google Takeout export of an album is in the inbox")
def takeout_export(storage, context):
    context["expected"] = sidecar_samples.takeout_export(storage["inbox"])


@given(parsers.parse('a photo "{name}" taken on "{when}" was filed before'))
def filed_before(storage, pf_env, name, when):
    samples.photo(storage["inbox"] / "earlier" / name, when, seed=1)
    run_librarian(pf_env)


@given(parsers.parse('an edited "{name}" taken on "{when}" arrives with its XMP "{xmp}" dated "{date}"'))
def edited_with_xmp(storage, name, when, xmp, date):
    samples.photo(storage["inbox"] / "edits" / name, when, seed=2)
    sidecar_samples.xmp(storage["inbox"] / "edits" / xmp, DateTimeOriginal=date, Title="edited")


@given(parsers.parse('only the sidecar "{name}" dated "{date}" is in the inbox'))
def only_sidecar(storage, context, name, date):
    sidecar_samples.xmp(storage["inbox"] / name, DateTimeOriginal=date)


@when("the librarian runs once")
def librarian_runs(pf_env):
    run_librarian(pf_env)


@when(parsers.parse('the photo "{name}" arrives and the librarian runs once'))
def photo_arrives(storage, pf_env, name):
    samples.photo(storage["inbox"] / name, None, seed=7)
    run_librarian(pf_env)


@then(parsers.parse('every photo is filed on the day its Takeout JSON says, with date source "{source}"'))
def filed_by_takeout(database_url, context, source):
    assets = {r["source_path"]: r for r in rows(database_url, "SELECT * FROM media_assets")}
    for e in context["expected"]:
        a = assets[e.photo]
        assert (a["captured_at"], a["date_source"]) == (e.taken, source), e.photo
        assert f"/{e.taken.astimezone().date():%Y-%m-%d}/" in a["library_path"]


@then("every Takeout JSON lies beside its photo")
def jsons_beside(database_url, storage, context):
    side = {r["source_path"]: r for r in rows(
        database_url,
        "SELECT s.*, a.library_path AS photo FROM asset_sidecars s JOIN media_assets a ON a.id = s.asset_id")}
    for e in context["expected"]:
        if e.json:
            s = side[e.json]
            assert s["library_path"] == s["photo"] + ".json"
            data = (storage["storage"] / s["library_path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == s["sha256"]


@then("nothing is quarantined")
def nothing_quarantined(database_url):
    assert rows(database_url, "SELECT * FROM quarantine") == []


@then("the inbox is empty")
def inbox_empty(storage):
    assert inbox_files(storage) == []


@then(parsers.parse('the library holds "{photo}" and its sidecar "{sidecar}"'))
def holds_with_sidecar(storage, database_url, photo, sidecar):
    assert (storage["storage"] / photo).is_file() and (storage["storage"] / sidecar).is_file()
    [s] = [r for r in rows(database_url, "SELECT s.library_path AS side, a.library_path AS photo FROM asset_sidecars s"
                                         " JOIN media_assets a ON a.id = s.asset_id") if r["side"] == sidecar]
    assert s["photo"] == photo


@then(parsers.parse('"{name}" is still in the inbox and nothing is quarantined'))
def still_waiting(storage, database_url, name):
    assert inbox_files(storage) == [name]
    assert rows(database_url, "SELECT * FROM quarantine") == []
