"""Container state through the Docker SDK: a real engine when one runs, and no engine at all."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from dashboard import docker_state

pytestmark = pytest.mark.integration
IMAGE = "python:3.11-slim"


def engine_with_image() -> bool:
    try:
        return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_no_docker_socket_is_reported_not_raised():
    snap = docker_state.snapshot("unix:///nonexistent/docker.sock")
    assert snap.available is False
    assert snap.reason
    assert docker_state.logs("abc", "unix:///nonexistent/docker.sock").startswith("(logs unavailable")


def test_describe_reads_state_health_restarts_uptime_and_image():
    attrs = {"Name": "/pf-librarian-1", "RestartCount": 2, "Config": {"Image": "pf:1", "Labels": {}},
             "State": {"Status": "running", "Running": True, "StartedAt": "2026-01-01T00:00:00.123456789Z",
                       "Health": {"Status": "healthy"}}}
    from datetime import UTC, datetime

    d = docker_state.describe(attrs, now=datetime(2026, 1, 1, 1, 0, tzinfo=UTC))
    assert d == {"name": "pf-librarian-1", "state": "running", "health": "healthy", "restarts": 2,
                 "uptime_s": pytest.approx(3599.88, abs=0.01), "image": "pf:1",
                 "exit_code": None, "health_log": ""}  # (why it is down: only for a stopped or unhealthy one)


@pytest.mark.docker
@pytest.mark.skipif(not engine_with_image(), reason=f"no Docker engine with {IMAGE}")
def test_a_real_container_is_found_by_its_compose_service_label_with_its_logs():
    project = f"pftest{uuid.uuid4().hex[:8]}"
    cid = subprocess.run(
        ["docker", "run", "-d", "--network", "none", "--label", f"com.docker.compose.project={project}",
         "--label", "com.docker.compose.service=librarian", IMAGE,
         "python", "-c", "print('hello from librarian', flush=True); import time; time.sleep(120)"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    try:
        snap = docker_state.snapshot(project=project)
        assert snap.available, snap.reason
        assert list(snap.containers) == ["librarian"]
        c = snap.containers["librarian"]
        assert c["state"] == "running" and c["image"] == IMAGE and c["restarts"] == 0
        for _ in range(50):
            text = docker_state.logs(c["id"])
            if "hello from librarian" in text:
                break
            subprocess.run(["sleep", "0.2"])
        assert "hello from librarian" in text
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60)
