"""Steps for restore_story.feature: the README's restore commands, verbatim, without Docker.

The pipeline is the real ``photo-factory … --once`` services against this test's private
PostgreSQL database and folders (what ``make run`` runs as long-lived processes); the remote is a
crypt remote over a local folder. The README's blocks are run with bash from the checkout, with
the environment ``make run`` would have (``PF_DATABASE_URL``, ``PF_STORAGE_DIR``,
``PF_BACKUP_REMOTE``, ``RCLONE_CONFIG``).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support import backup_samples as bs
from tests.support import readme
from tests.support.cli import run_cli
from tests.support.deploy_samples import make_photo, sha256_of
from tests.support.pano_samples import write_overlapping_shots

scenarios("restore_story.feature")
pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
#: photos whose library paths the README's one-file and one-range examples name
PHOTOS = {"IMG_0001.JPG": datetime(2024, 1, 31, 12, 0), "IMG_0002.JPG": datetime(2024, 1, 15, 9, 30),
          "IMG_0003.JPG": datetime(2024, 3, 2, 18, 45)}


def run_readme(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A README command exactly as written, in bash, from the checkout."""
    proc = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"`{command}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def files(storage: Path, *folders: str) -> dict[str, str]:
    return {str(p.relative_to(storage)): sha256_of(p)
            for folder in folders for p in sorted((storage / folder).rglob("*")) if p.is_file()}


@pytest.fixture
def ctx() -> dict:
    return {}


@pytest.fixture
def env(pf_env: dict[str, str]) -> dict[str, str]:
    return {**pf_env, "PF_STITCH_SETTLE_SECONDS": "0", "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5"}


@given("an encrypted backup remote")
def encrypted_remote(tmp_path: Path, env: dict[str, str]) -> None:
    env.update(bs.make_crypt_remote(tmp_path / "rclone").env())


@given("photos and an overlapping sequence filed, stitched, thumbnailed and backed up")
def pipeline_ran(env: dict[str, str], storage: dict[str, Path], database_url: str, ctx: dict) -> None:
    for i, (name, taken) in enumerate(PHOTOS.items()):
        make_photo(storage["inbox"] / name, taken, 48.8584, 2.2945 + i, seed=i + 1)
    write_overlapping_shots(storage["inbox"] / "pano", count=3)
    for service in ("librarian", "stitch", "thumbnails", "backup"):
        run_cli(env, service, "--once")
    catalogue = {p: s.strip() for p, s in bs.query(database_url, "SELECT library_path, sha256 FROM media_assets")}
    assert len(catalogue) == len(PHOTOS) + 3 + 1, catalogue  # the photos, the shots, the panorama
    assert any(p.startswith("Derivatives/panoramas/") for p in catalogue)
    assert bs.query(database_url, "SELECT bool_and(is_backed_up AND is_thumbnailed) FROM media_assets") == [(True,)]
    ctx["catalogue"] = catalogue
    ctx["files"] = files(storage["storage"], "Library", "Derivatives/panoramas")
    ctx["thumbnails"] = set(files(storage["storage"], "Derivatives/thumbnails"))
    assert ctx["files"] == catalogue and ctx["thumbnails"]


@when("the storage disk and the database are lost")
def lose_everything(storage: dict[str, Path], database_url: str) -> None:
    shutil.rmtree(storage["storage"])
    bs.query(database_url, "DROP SCHEMA public CASCADE")
    bs.query(database_url, "CREATE SCHEMA public")


@when("the pipeline starts again on the empty disk and backs up the empty catalogue")
def fresh_start(env: dict[str, str]) -> None:
    run_cli(env, "migrate")  # what `make run` does first
    run_cli(env, "backup", "--once")  # a dump of the empty catalogue is now the newest one


@when(parsers.parse('the README\'s "{block}" commands run as written'))
def readme_commands(block: str, env: dict[str, str], ctx: dict) -> None:
    ctx["outputs"] = [run_readme(command, env).stdout for command in readme.commands(block)]


@when(parsers.parse('each of the README\'s "{block}" commands runs as written after losing what it names'))
def readme_commands_after_losses(block: str, env: dict[str, str], storage: dict[str, Path], ctx: dict) -> None:
    commands = readme.commands(block)
    # first one file (--file), then a range of days (--since/--until): January 2024
    lost = [["Library/2024/2024-01-31/IMG_0001.JPG"],
            [p for p in ctx["files"] if p.startswith("Library/2024/2024-01-")]]
    assert len(commands) == len(lost) and len(lost[1]) == 2
    for command, paths in zip(commands, lost, strict=True):
        for rel in paths:
            (storage["storage"] / rel).unlink()
        run_readme(command, env)
        assert all((storage["storage"] / rel).is_file() for rel in paths), command


@then("every original and panorama is byte-identical to the catalogue before the loss")
def byte_identical(storage: dict[str, Path], database_url: str, ctx: dict) -> None:
    catalogue = {p: s.strip() for p, s in bs.query(database_url, "SELECT library_path, sha256 FROM media_assets")}
    assert catalogue == ctx["catalogue"]
    assert files(storage["storage"], "Library", "Derivatives/panoramas") == ctx["files"]


@then("the restore drill passed")
def drill_passed(database_url: str, ctx: dict) -> None:
    assert any("PASSED" in out for out in ctx["outputs"]), ctx["outputs"]
    [(result, checked)] = bs.query(database_url, "SELECT result, files_checked FROM restore_drills")
    assert (result, checked) == ("passed", len(ctx["catalogue"]))


@then("the thumbnails worker rebuilds every thumbnail")
def thumbnails_rebuilt(env: dict[str, str], storage: dict[str, Path], ctx: dict) -> None:
    run_cli(env, "thumbnails", "--once")
    assert set(files(storage["storage"], "Derivatives/thumbnails")) == ctx["thumbnails"]
