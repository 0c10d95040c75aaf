"""Steps for panoramas.feature: the real librarian and stitcher CLIs on generated sweeps."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import pano_samples
from tests.support.pano_samples import query, run_cli

scenarios("panoramas.feature")

WRITERS = {"overlapping": pano_samples.write_overlapping_shots,
           "unrelated": pano_samples.write_unrelated_shots}


@given(parsers.parse("three {kind} shots taken {gap:d} seconds apart with one camera "
                     'in the inbox folder "{folder}"'))
def shots_in_inbox(kind: str, gap: int, folder: str, storage: dict[str, Path]) -> None:
    WRITERS[kind](storage["inbox"] / folder, count=3, gap_s=gap)


@when("the librarian and the stitcher have run")
def run_librarian_and_stitcher(pf_env: dict[str, str]) -> None:
    env = {**pf_env, "PF_STITCH_SETTLE_SECONDS": "0", "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}
    run_cli(env, "librarian", "--once")
    run_cli(env, "stitch", "--once")


@then(parsers.parse('there is 1 stitched panorama under "{folder}"'))
def one_panorama(folder: str, database_url: str, storage: dict[str, Path]) -> None:
    [pano] = query(database_url, "SELECT * FROM panoramas WHERE status = 'done'")
    assert pano["output_path"].startswith(folder + "/")
    assert (storage["storage"] / pano["output_path"]).read_bytes()[:2] == b"\xff\xd8"
    assert list((storage["storage"] / folder).rglob("*.jpg")) == [storage["storage"] / pano["output_path"]]


@then(parsers.parse("the panorama is an image asset linked to its {count:d} shots"))
def panorama_asset(count: int, database_url: str) -> None:
    [row] = query(database_url, """
        SELECT a.media_type, a.metadata, p.id, (SELECT count(*) FROM panorama_sources s
                                                 WHERE s.panorama_id = p.id) AS sources
          FROM panoramas p JOIN media_assets a ON a.id = p.asset_id""")
    assert row["media_type"] == "image"
    assert row["metadata"]["derived_from_panorama"] == row["id"]
    assert row["sources"] == count


@then("every filed photo is unchanged")
def originals_unchanged(database_url: str, storage: dict[str, Path]) -> None:
    rows = query(database_url, "SELECT sha256, library_path FROM media_assets "
                               "WHERE library_path LIKE 'Library/%'")
    assert len(rows) == 3
    for row in rows:
        data = (storage["storage"] / row["library_path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]


@then("there is no stitched panorama")
def no_panorama(database_url: str, storage: dict[str, Path]) -> None:
    assert query(database_url, "SELECT id FROM panoramas WHERE status = 'done'") == []
    assert not list((storage["storage"] / "Derivatives" / "panoramas").rglob("*.jpg"))


@then(parsers.parse('the candidate set is recorded as rejected because of "{reason}"'))
def rejected(reason: str, database_url: str) -> None:
    rows = query(database_url, "SELECT status, reason FROM panoramas")
    assert rows == [{"status": "rejected", "reason": reason}]


@then(parsers.parse('the panorama was found by "{detection}"'))
def found_by(detection: str, database_url: str) -> None:
    assert query(database_url, "SELECT detection FROM panoramas") == [{"detection": detection}]
