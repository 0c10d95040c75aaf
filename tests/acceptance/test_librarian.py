"""Steps for librarian.feature: the real ``photo-factory librarian --once`` on real files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import samples

scenarios("librarian.feature")
CLI = str(Path(sys.executable).with_name("photo-factory"))


def run_librarian(env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([CLI, "librarian", "--once"], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def library_files(storage: dict[str, Path]) -> list[Path]:
    return [p for p in (storage["storage"] / "Library").rglob("*") if p.is_file()]


def one(database_url: str, sql: str, *params):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


@pytest.fixture
def context() -> dict:
    return {}


@given(parsers.parse('a photo "{name}" taken on "{when}" is in the inbox'))
def photo_in_inbox(storage, context, name, when):
    path = samples.photo(storage["inbox"] / name, when, seed=len(name))
    context["sha"] = sha(path)
    context["name"] = name


@given("the librarian has run once")
def librarian_has_run(pf_env):
    run_librarian(pf_env)


@given(parsers.parse('the same photo arrives again as "{name}"'))
def same_again(storage, context, name):
    dest = storage["inbox"] / name
    samples.photo(dest, "2023:07:14 09:30:00", seed=len(context["name"]))
    assert sha(dest) == context["sha"]


@given(parsers.parse('a truncated photo "{name}" is in the inbox'))
def truncated_photo(storage, tmp_path, name):
    whole = samples.photo(tmp_path / "whole.jpg", size=(640, 480))
    samples.truncated(whole, storage["inbox"] / name, keep=0.6)


@given(parsers.parse('an empty file "{name}" is in the inbox'))
def empty_file(storage, name):
    (storage["inbox"] / name).write_bytes(b"")


@given(parsers.parse('a photo "{name}" is being written slowly into the inbox'))
def slow_writer(storage, tmp_path, context, name):
    finished = samples.photo(tmp_path / "finished.jpg", size=(800, 600), seed=42)
    data = finished.read_bytes()
    context["sha"] = sha(finished)
    target = storage["inbox"] / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:1024])  # already present when the librarian starts

    def write() -> None:
        with open(target, "ab") as f:
            for i in range(1024, len(data), max(1, len(data) // 12)):
                time.sleep(0.25)
                f.write(data[i:i + max(1, len(data) // 12)])
                f.flush()

    context["writer"] = threading.Thread(target=write)


@when("the librarian runs once")
def librarian_runs(pf_env):
    run_librarian(pf_env)


@when("the librarian runs once while the writer is still writing")
def librarian_runs_during_write(pf_env, context):
    env = {**pf_env, "PF_STABILITY_SECONDS": "1.0"}
    context["writer"].start()
    run_librarian(env)
    assert not context["writer"].is_alive(), "the librarian finished before the file was complete"
    context["writer"].join()


@then(parsers.parse('the library holds "{rel}" with the same content'))
def library_holds(storage, context, rel):
    assert sha(storage["storage"] / rel) == context["sha"]


@then(parsers.parse('the database records it with date source "{source}"'))
def recorded(database_url, context, source):
    row = one(database_url, "SELECT date_source FROM media_assets WHERE sha256 = %s", context["sha"])
    assert row == (source,)


@then("the inbox is empty")
def inbox_empty(storage):
    assert [p for p in storage["inbox"].rglob("*") if p.is_file()] == []


@then(parsers.parse("the library holds exactly {n:d} file"))
@then(parsers.parse("the library holds exactly {n:d} files"))
def library_count(storage, n):
    assert len(library_files(storage)) == n


@then(parsers.parse("{n:d} duplicate removal is recorded"))
def duplicates_recorded(database_url, n):
    assert one(database_url, "SELECT count(*) FROM ingest_events WHERE kind = 'duplicate_removed'") == (n,)


@then(parsers.parse('"{name}" is in quarantine with reason "{reason}"'))
def quarantined(database_url, storage, name, reason):
    row = one(database_url, "SELECT reason, quarantine_path FROM quarantine WHERE original_name = %s", name)
    assert row is not None and row[0] == reason
    assert (storage["storage"] / row[1]).exists()


@then(parsers.parse('the library copy of "{name}" is byte-identical to the finished file'))
def byte_identical(storage, context, name):
    [copy] = [p for p in library_files(storage) if p.name == name]
    assert sha(copy) == context["sha"]
