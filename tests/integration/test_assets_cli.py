"""``photo-factory assets``: the scripting contract (one JSON object per line, filters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversity.filing_support import query, run_librarian
from tests.integration.librarian.test_groups import put
from tests.support import group_samples

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).with_name("photo-factory"))
KEYS = {"id", "library_path", "sha256", "size_bytes", "media_type", "capture_date", "date_source", "tz_source",
        "group", "sidecars", "motion_video"}


def assets(env: dict[str, str], *args: str) -> list[str]:
    proc = subprocess.run([CLI, "assets", *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_assets_lists_every_asset_with_its_group_sidecars_and_motion_video(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path], tmp_path: Path):
    put(storage["inbox"], *group_samples.SET)
    assert run_librarian(pf_env, tmp_path / "log") == 0
    day = "Library/2024/2024-01-31"
    still = query(database_url, "SELECT id FROM media_assets WHERE library_path = %s", f"{day}/IMG_0001.HEIC")[0]["id"]
    query(database_url, "INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes, sha256)"
                        " VALUES (%s, %s, 'xmp', 'IMG_0001.HEIC.xmp', 10, %s)",
          still, f"{day}/IMG_0001.HEIC.xmp", "0" * 64)
    query(database_url, "UPDATE media_assets SET motion_video = %s WHERE id = %s",
          f"Derivatives/motion/{day}/IMG_0001.HEIC.mp4", still)

    records = [json.loads(line) for line in assets(pf_env, "--json")]
    assert len(records) == len(group_samples.SET)
    assert all(set(r) >= KEYS for r in records)
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    by_path = {r["library_path"]: r for r in records}
    s = by_path[f"{day}/IMG_0001.HEIC"]
    assert s["group"]["kind"] == "live_photo" and s["group"]["role"] == "still"
    assert s["sidecars"] == [f"{day}/IMG_0001.HEIC.xmp"]
    assert s["motion_video"] == f"Derivatives/motion/{day}/IMG_0001.HEIC.mp4"
    assert s["capture_date"] == "2024-01-31" and s["media_type"] == "image" and len(s["sha256"]) == 64
    assert by_path[f"{day}/IMG_0001.MOV"]["group"]["id"] == s["group"]["id"]
    assert by_path[f"{day}/IMG_0004.JPG"]["group"] is None
    assert by_path[f"{day}/IMG_0004.JPG"]["sidecars"] == []

    live = [json.loads(line) for line in assets(pf_env, "--json", "--group-kind", "live_photo")]
    assert len(live) == 6 and {r["group"]["kind"] for r in live} == {"live_photo"}
    later = [json.loads(line) for line in assets(pf_env, "--json", "--since", "2024-02-01")]
    assert [r["library_path"] for r in later] == ["Library/2024/2024-02-05/IMG_0004.MOV"]
    plain = assets(pf_env)
    assert len(plain) == len(records)
    assert any(line.split("\t")[3:] == ["live_photo:still", f"{day}/IMG_0001.HEIC"] for line in plain)


def test_assets_refuses_an_unknown_group_kind(pf_env: dict[str, str]):
    proc = subprocess.run([CLI, "assets", "--group-kind", "panorama"], env=pf_env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "panorama" in proc.stderr
