"""The compose files work with Docker Compose v2 (the compose spec) and docker-compose 1.29 alike.

Only keys both understand, with the meaning both give them: no ``version:`` (v2 warns, and it
picks the 1.29 schema family), no ``name:`` / ``include:`` / ``develop:`` / ``start_interval``
/ ``depends_on.*.required`` (v2 only: 1.29 refuses the file), no ``links`` / ``external_links``
(legacy). A key not listed here must be checked against both (the compose-spec schema and
``docker-compose config`` 1.29) before it is added to the allow-lists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
FILES = ["docker-compose.yml", "docker-compose.host.yml", "docker-compose.ports.yml"]

TOP = {"services", "volumes", "networks"}
SERVICE = {"build", "command", "depends_on", "env_file", "environment", "healthcheck", "image", "logging",
           "network_mode", "ports", "profiles", "restart", "stop_grace_period", "volumes", "user", "networks",
           "expose"}
HEALTHCHECK = {"disable", "interval", "retries", "start_period", "test", "timeout"}
BUILD = {"context", "network", "target", "dockerfile", "args"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def load(name: str) -> dict:
    path = REPO / name
    if not path.is_file():  # the image build's test gate: compose files are not in its context
        pytest.skip(f"{name} is not in this checkout")
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", FILES)
def test_the_compose_file_uses_only_keys_compose_v2_and_1_29_share(name: str) -> None:
    doc = load(name)
    assert {k for k in doc if not k.startswith("x-")} <= TOP
    for service, spec in doc["services"].items():
        assert set(spec) <= SERVICE, (service, set(spec) - SERVICE)
        assert set(spec.get("healthcheck", {})) <= HEALTHCHECK, (service, spec["healthcheck"])
        build = spec.get("build")
        assert not isinstance(build, dict) or set(build) <= BUILD, (service, build)
        depends = spec.get("depends_on", {})
        if isinstance(depends, dict):
            for on, how in depends.items():
                assert set(how) == {"condition"} and how["condition"] in CONDITIONS, (service, on, how)
