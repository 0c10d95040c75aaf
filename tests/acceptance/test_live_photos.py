"""Steps for live_photos.feature: the real ``photo-factory librarian --once`` and ``assets``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.adversity.filing_support import query, run_librarian
from tests.integration.librarian.test_groups import SAMPLES, put

scenarios("live_photos.feature")
CLI = str(Path(sys.executable).with_name("photo-factory"))
DAY = "Library/2024/2024-01-31"


@pytest.fixture
def context() -> dict:
    return {}


def _run(pf_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "librarian.log"
    assert run_librarian(pf_env, log) == 0, log.read_text()


@given(parsers.parse('the Live Photo "{still}" with its video "{video}" is in the inbox'))
def live_photo(storage, still, video):
    put(storage["inbox"], f"live_with_id/{still}", f"live_with_id/{video}", under="DCIM/100APPLE")


@given(parsers.parse('the library already holds another file named "{a}" and "{b}" on that day'))
def names_taken(storage, a, b):
    day = storage["storage"] / DAY
    day.mkdir(parents=True)
    shutil.copyfile(SAMPLES / "hevc/IMG_0003.HEIC", day / a)  # registered by the librarian's library check
    shutil.copyfile(SAMPLES / "hevc/IMG_0003_HEVC.MOV", day / b)


@given(parsers.parse('only the still "{still}" of the Live Photo is in the inbox'))
def only_still(storage, still):
    put(storage["inbox"], f"live_with_id/{still}", under="DCIM")


@given("the librarian has run once")
def has_run(pf_env, tmp_path):
    _run(pf_env, tmp_path)


@given(parsers.parse('its video "{video}" arrives in another folder'))
def video_later(storage, video):
    put(storage["inbox"], f"live_with_id/{video}", under="later")


@given(parsers.parse('the photo "{photo}" of 2024-01-31 and the video "{video}" of 2024-02-05 are in the inbox'))
def days_apart(storage, photo, video):
    put(storage["inbox"], f"days_apart/{photo}", f"days_apart/{video}")


@when("the librarian runs once")
def runs(pf_env, tmp_path):
    _run(pf_env, tmp_path)


@then(parsers.parse('the library holds "{a}" and "{b}"'))
def holds(storage, context, a, b):
    assert (storage["storage"] / a).is_file() and (storage["storage"] / b).is_file()
    context["pair"] = (a, b)


@then(parsers.parse('they are one "{kind}" group with the still as its primary'))
def one_group(database_url, context, kind):
    rows = query(database_url, "SELECT a.library_path, a.group_id, a.group_role, g.kind FROM media_assets a"
                               " JOIN asset_groups g ON g.id = a.group_id WHERE a.library_path = ANY(%s)",
                 list(context["pair"]))
    assert len(rows) == 2 and len({r["group_id"] for r in rows}) == 1 and {r["kind"] for r in rows} == {kind}
    roles = {r["library_path"]: r["group_role"] for r in rows}
    assert roles == dict(zip(context["pair"], ["still", "video"], strict=True))


@then('"photo-factory assets --json" shows both with the same group')
def assets_json(pf_env, context):
    out = subprocess.run([CLI, "assets", "--json"], env=pf_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    recs = {r["library_path"]: r for r in map(json.loads, out.stdout.splitlines())}
    a, b = (recs[p] for p in context["pair"])
    assert a["group"]["id"] == b["group"]["id"] and (a["group"]["role"], b["group"]["role"]) == ("still", "video")


@then("the inbox is empty")
def inbox_empty(storage):
    assert [p for p in storage["inbox"].rglob("*") if p.is_file()] == []


@then("no group is recorded")
def no_group(database_url):
    assert query(database_url, "SELECT count(*) AS n FROM asset_groups")[0]["n"] == 0
    assert query(database_url, "SELECT count(*) AS n FROM media_assets")[0]["n"] == 2
