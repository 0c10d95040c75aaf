"""Steps for thumbnails.feature: the real librarian and thumbnail CLIs as subprocesses."""

from __future__ import annotations

import collections
import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pytest_bdd import given, parsers, scenarios, then, when

from processor.thumbnails import video
from tests.support import thumbnail_samples as samples
from tests.support.cli import CLI, run_cli

pytestmark = pytest.mark.integration

scenarios("thumbnails.feature")



def _thumb(storage: Path, library_path: str, size: int) -> Image.Image:
    rel = library_path.removeprefix("Library/")
    return Image.open(storage / "Derivatives" / "thumbnails" / str(size) / f"{rel}.jpg")


@pytest.fixture
def ctx() -> dict:
    return {}


@given(parsers.parse('a photo "{name}" taken sideways in the inbox'))
def sideways_photo(name: str, storage: dict[str, Path]) -> None:
    path = storage["inbox"] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(samples.jpeg(3000, 2000, orientation=6))


@given(parsers.parse('a video "{name}" that starts with a black second in the inbox'))
def video_in_inbox(name: str, storage: dict[str, Path]) -> None:
    samples.video(storage["inbox"] / name, black_seconds=1.0, seconds=3.0)


@given("a filed photo whose file is truncated")
def truncated_photo(ctx: dict, database_url: str, storage: dict[str, Path]) -> None:
    data = samples.truncated_jpeg()
    ctx["asset"] = samples.insert_asset(database_url, storage["storage"], data=data)
    ctx["sha"] = hashlib.sha256(data).hexdigest()
    [(ctx["path"],)] = samples.query(database_url, "SELECT library_path FROM media_assets")


@given(parsers.parse("{n:d} filed photos waiting for thumbnails"))
def many_photos(n: int, ctx: dict, database_url: str, storage: dict[str, Path]) -> None:
    data = samples.jpeg(320, 240)
    ctx["ids"] = [samples.insert_asset(database_url, storage["storage"], data=data) for _ in range(n)]


@when("the librarian and the thumbnail worker have run")
def librarian_and_thumbnails(pf_env: dict[str, str]) -> None:
    run_cli(pf_env, "librarian", "--once")
    run_cli(pf_env, "thumbnails", "--once")


@when("the thumbnail worker has run")
def thumbnails_once(pf_env: dict[str, str]) -> None:
    run_cli(pf_env, "thumbnails", "--once")


@when("the file is repaired and the failed items are retried")
def repair_and_retry(ctx: dict, pf_env: dict[str, str], storage: dict[str, Path]) -> None:
    (storage["storage"] / ctx["path"]).write_bytes(samples.jpeg(600, 400))
    out = run_cli(pf_env, "thumbnails", "--retry-failed").stdout
    assert "1 failed item(s) queued again" in out


@when("four thumbnail workers run at the same time")
def four_workers(ctx: dict, pf_env: dict[str, str]) -> None:
    env = {**pf_env, "PF_THUMBNAIL_BATCH_SIZE": "3", "PF_LOG_LEVEL": "INFO"}
    procs = [subprocess.Popen([CLI, "thumbnails", "--once"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    ctx["logs"] = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], "\n".join(ctx["logs"])


@then("the photo has an upright thumbnail of 256 px and a preview of 1440 px")
def upright_thumbnails(database_url: str, storage: dict[str, Path]) -> None:
    [(path,)] = samples.query(database_url, "SELECT library_path FROM media_assets")
    small, large = _thumb(storage["storage"], path, 256), _thumb(storage["storage"], path, 1440)
    assert (small.size, large.size) == ((256, 171), (1440, 960))
    assert samples.upright_marker_ok(small) and samples.upright_marker_ok(large)


@then("the photo is marked as thumbnailed")
def marked(database_url: str) -> None:
    assert samples.query(database_url, "SELECT bool_and(is_thumbnailed) FROM media_assets") == [(True,)]


@then("the video has a poster that is not a black frame")
def poster(database_url: str, storage: dict[str, Path]) -> None:
    [(path, kind, done)] = samples.query(database_url,
                                         "SELECT library_path, media_type, is_thumbnailed FROM media_assets")
    assert (kind, done) == ("video", True)
    assert path.endswith(".MP4")
    assert not video.looks_black(_thumb(storage["storage"], path, 1440))


@then(parsers.parse('the photo is listed as failed with reason "{reason}"'))
def listed_failed(reason: str, ctx: dict, pf_env: dict[str, str]) -> None:
    out = run_cli(pf_env, "thumbnails", "--show-failed").stdout
    assert f"{ctx['asset']}\t{reason}\t{ctx['path']}\t" in out


@then("the original file is unchanged")
def original_unchanged(ctx: dict, storage: dict[str, Path]) -> None:
    assert hashlib.sha256((storage["storage"] / ctx["path"]).read_bytes()).hexdigest() == ctx["sha"]


@then("every photo was thumbnailed exactly once")
def exactly_once(ctx: dict, database_url: str) -> None:
    done = collections.Counter(int(m) for log in ctx["logs"]
                               for m in re.findall(r"asset (\d+): thumbnails ", log))
    assert sorted(done) == ctx["ids"]
    assert set(done.values()) == {1}
    assert samples.query(database_url, "SELECT count(*) FROM media_assets WHERE NOT is_thumbnailed") == [(0,)]
