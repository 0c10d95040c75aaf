"""The storage disk dies; the README's restore brings everything back — on the real compose stack.

The user story of issue 11: photos (and an overlapping sequence that becomes a panorama) go into
the inbox and are filed, thumbnailed, stitched and backed up to an encrypted rclone remote (a
local folder mounted into the backup container); ``docker compose down -v`` and the storage
folder deleted (catalogue and library lost); ``up -d`` on the fresh disk (the backup service
starts too, and may dump the empty catalogue); then the README's Docker restore commands,
verbatim, from its block ``restore-docker``. Afterwards every original and panorama is
byte-identical to the SHA-256 the catalogue held before the loss, the thumbnails are rebuilt,
``photo-factory status`` is green and the restore drill passes.

Host networking (docker-compose.host.yml) as on this project's CI;
``PF_E2E_RESTORE_NETWORKS=host,bridge`` runs the same story on the default bridge deployment as
well. Skipped, with the reason, when no Docker engine can be started. The tests share one stack
and run in file order.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.compose_stack import ALWAYS_UP, WORKERS, ComposeStack, built_and_up
from tests.e2e.conftest import rows, wait_until
from tests.support import readme
from tests.support.deploy_samples import make_album, sha256_of
from tests.support.pano_samples import write_overlapping_shots

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

PHOTOS = 3
SHOTS = 3  # overlapping shots of one scene: one panorama
#: stitch a sequence as soon as it is filed, from small inputs (the default waits two minutes)
#: the networking the story runs with: host (CI's) by default; PF_E2E_RESTORE_NETWORKS=host,bridge
#: runs it with the default bridge deployment too (on an engine whose published ports work)
NETWORKS = os.environ.get("PF_E2E_RESTORE_NETWORKS", "host").split(",")
#: and health checks every 10 s, not 3: nine containers starting Python every 3 s load two cores
SETTINGS = {"PF_STITCH_SETTLE_SECONDS": "5", "PF_STITCH_MAX_INPUT_MEGAPIXELS": "0.5",
            "PF_STITCH_POLL_SECONDS": "2", "HEALTHCHECK_INTERVAL": "10s"}


@pytest.fixture(scope="module", params=NETWORKS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    with built_and_up(tmp_path_factory.mktemp("restore-story"), _up, "restore e2e",
                      extra=SETTINGS, network=request.param) as s:
        yield s


@pytest.fixture(scope="module")
def before(stack: ComposeStack) -> dict:
    """What the catalogue and the storage of ``stack`` held before the disk died."""
    return {}


def _up(stack: ComposeStack) -> float:
    """``up -d``, then wait until every worker beats. Its heartbeat, not Docker's health check (a
    process start every interval, slow on a loaded machine), is what this story relies on."""
    started = time.monotonic()
    stack.up_until_healthy(ALWAYS_UP, health=False)

    def beating() -> bool:
        found = rows(stack.database_url, "SELECT service, status FROM system_status")
        return all(r["status"] in ("ok", "degraded") for r in found if r["service"] in WORKERS) and \
            {r["service"] for r in found} >= set(WORKERS)

    wait_until("every worker to beat", beating, limit_s=300, every_s=2, on_timeout=stack.logs)
    return time.monotonic() - started


def _storage_files(storage: Path, *folders: str) -> dict[str, str]:
    return {str(p.relative_to(storage)): sha256_of(p)
            for folder in folders for p in sorted((storage / folder).rglob("*")) if p.is_file()}


def test_photos_are_filed_thumbnailed_stitched_and_backed_up(stack: ComposeStack, before: dict) -> None:
    started = time.monotonic()
    staging = stack.root / "staging"
    album = [s.path for s in make_album(staging / "album", PHOTOS)]
    shots = write_overlapping_shots(staging / "pano", count=SHOTS)
    for path in [*album, *shots]:
        os.rename(path, stack.root / "inbox" / path.name)

    def everything_done() -> list[dict]:
        found = rows(stack.database_url, "SELECT library_path, sha256, is_thumbnailed, is_backed_up FROM media_assets")
        pano = rows(stack.database_url, "SELECT status FROM panoramas WHERE status = 'done'")
        done = [r for r in found if r["is_thumbnailed"] and r["is_backed_up"]]
        return found if pano and len(done) == len(found) == PHOTOS + SHOTS + 1 else []

    assets = wait_until("every photo and the panorama thumbnailed and backed up", everything_done, limit_s=300,
                        every_s=2, on_timeout=lambda: repr(rows(stack.database_url, "SELECT * FROM panoramas"))
                        + stack.logs())
    # the restore takes the newest dump that holds assets: wait for one taken after the last upload
    wait_until("a database dump that holds every backed-up asset", lambda: rows(
        stack.database_url,
        "SELECT 1 FROM backup_dumps WHERE created_at > (SELECT max(backed_up_at) FROM media_assets)"),
        limit_s=120, every_s=2, on_timeout=stack.logs)
    # the uploads were jobs of the backup container's rclone rcd (ADR-062: it reads each batch's
    # list through /proc as the container's user), not the rclone copy it falls back to
    wait_until("the backup's heartbeat saying its batches go to rclone rcd", lambda: rows(
        stack.database_url,
        "SELECT 1 FROM system_status WHERE service = 'backup' AND details->>'uploads_by' = 'rclone rcd'"),
        limit_s=30, every_s=1, on_timeout=lambda: repr(rows(
            stack.database_url, "SELECT details FROM system_status WHERE service = 'backup'")) + stack.logs())
    print(f"[restore e2e] {PHOTOS} photos + {SHOTS} shots filed, stitched, thumbnailed, backed up, dumped: "
          f"{time.monotonic() - started:.0f}s")

    storage = stack.root / "storage"
    before["catalogue"] = {a["library_path"]: a["sha256"].strip() for a in assets}
    before["files"] = _storage_files(storage, "Library", "Derivatives/panoramas")
    before["thumbnails"] = sorted(_storage_files(storage, "Derivatives/thumbnails"))
    assert any(p.startswith("Derivatives/panoramas/") for p in before["catalogue"])
    assert before["files"] == before["catalogue"], "the files on disk and the catalogue disagree before the loss"
    assert before["thumbnails"]


def test_rclone_config_runs_while_the_backup_service_runs(stack: ComposeStack) -> None:
    [command] = readme.commands("rclone-config")
    proc = stack.user_command(command, stdin="q\n")  # the interactive menu's "Quit config"
    assert proc.returncode == 0, _out(proc)
    assert "e2e-crypt" in proc.stdout  # it read the stack's rclone.conf


def test_the_disk_dies_and_the_stack_comes_back_on_an_empty_one(stack: ComposeStack, before: dict) -> None:
    assert before, "the first test did not complete"
    stack.run("down", "-v", "-t", "20", timeout=300)
    shutil.rmtree(stack.root / "storage")
    print(f"[restore e2e] fresh disk, up -d until every worker beats: {_up(stack):.0f}s")
    assert rows(stack.database_url, "SELECT id FROM media_assets") == []
    # give the backup service its first round on the empty catalogue (it may upload an empty dump,
    # which the restore must not pick); not an assertion: a backup that waits is fine too
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not rows(
            stack.database_url, "SELECT 1 FROM backup_runs WHERE finished_at IS NOT NULL"):
        time.sleep(2)


def test_the_readme_restore_commands_bring_back_every_byte(stack: ComposeStack, before: dict) -> None:
    assert before, "the first test did not complete"
    outputs: dict[str, str] = {}
    for command in readme.commands("restore-docker"):
        started = time.monotonic()
        if " status" in command:
            # exit 0 once every service has beaten on the restored catalogue (the README says so)
            wait_until(f"`{command}` to exit 0", lambda c=command: stack.user_command(c).returncode == 0,
                       limit_s=300, every_s=5,
                       on_timeout=lambda c=command: _out(stack.user_command(c)) + stack.logs())
        else:
            proc = stack.user_command(command)
            assert proc.returncode == 0, f"`{command}` exited {proc.returncode}:\n{_out(proc)}\n{stack.logs()}"
            outputs[command] = proc.stdout
        print(f"[restore e2e] {command.split('#')[0].strip()}: {time.monotonic() - started:.0f}s")

    storage = stack.root / "storage"
    catalogue = {a["library_path"]: a["sha256"].strip()
                 for a in rows(stack.database_url, "SELECT library_path, sha256 FROM media_assets")}
    assert catalogue == before["catalogue"]
    assert _storage_files(storage, "Library", "Derivatives/panoramas") == before["files"]
    wait_until("every thumbnail rebuilt",
               lambda: set(before["thumbnails"]) <= set(_storage_files(storage, "Derivatives/thumbnails")),
               limit_s=180, every_s=2, on_timeout=stack.logs)
    drill = rows(stack.database_url, "SELECT result, files_checked, mismatches, missing FROM restore_drills "
                                     "ORDER BY id DESC LIMIT 1")
    assert drill and drill[0]["result"] == "passed", (drill, outputs)
    assert drill[0]["files_checked"] == len(before["catalogue"])


def _out(proc) -> str:
    return f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
