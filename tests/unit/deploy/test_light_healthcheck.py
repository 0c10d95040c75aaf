"""docker/healthcheck.sh (the containers' health check) judges the heartbeat line the way
``photo-factory healthcheck`` judges the database row: fresh and not error/stopping/stopped."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photo_factory import health, health_file

SCRIPT = Path(__file__).resolve().parents[3] / "docker" / "healthcheck.sh"


def run(folder: Path, service: str = "librarian") -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT), service], env={"PF_HEALTH_DIR": str(folder), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=10)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PF_HEALTH_DIR", str(tmp_path))
    return tmp_path


def test_no_heartbeat_yet_is_unhealthy(folder: Path) -> None:
    proc = run(folder)
    assert proc.returncode == 1 and proc.stdout.strip() == "librarian: no heartbeat yet"


def test_a_garbled_line_is_unhealthy_not_an_error_of_the_shell(folder: Path) -> None:
    (folder / "librarian").write_text("ok\tten\tnow\n")
    proc = run(folder)
    assert proc.returncode == 1 and "unreadable" in proc.stdout and proc.stderr == ""


@settings(max_examples=60, deadline=None)
@given(status=st.sampled_from(["ok", "degraded", "starting", "error", "stopping", "stopped"]),
       interval=st.floats(min_value=0.5, max_value=600), age=st.integers(min_value=0, max_value=3000),
       message=st.text(max_size=80))
def test_the_shell_check_agrees_with_the_python_rule(tmp_path_factory: pytest.TempPathFactory, status: str,
                                                    interval: float, age: int, message: str) -> None:
    folder = tmp_path_factory.mktemp("health")
    os.environ["PF_HEALTH_DIR"] = str(folder)
    try:
        health_file.write("geocode", status, interval, message, now=time.time() - age)
    finally:
        del os.environ["PF_HEALTH_DIR"]
    proc = run(folder, "geocode")
    row = {"status": status, "interval_s": float(int(-(-interval // 1))), "age_s": age, "message": message}
    expected = health.judge(row, "geocode", 2.5, 15.0)
    if abs(age - max(2.5 * row["interval_s"], 15.0)) <= 1:
        return  # the second the clock ticks between writing and reading
    assert (proc.returncode == 0) == expected.healthy, (proc.stdout, expected)
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""
