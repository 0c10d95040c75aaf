"""Container state and logs through the Docker SDK, read-only (list, inspect, logs; nothing else).

When the socket is missing or the engine does not answer, :func:`snapshot` returns an
``available=False`` result with the reason, and the dashboard shows everything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
SERVICE_LABEL = "com.docker.compose.service"
PROJECT_LABEL = "com.docker.compose.project"


@dataclass
class DockerSnapshot:
    available: bool
    reason: str = ""
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)


def _client(url: str, timeout: int = 3) -> Any:
    import docker

    return (docker.DockerClient(base_url=url, timeout=timeout) if url  # type: ignore[attr-defined]
            else docker.from_env(timeout=timeout))  # type: ignore[attr-defined]


def _uptime_s(started_at: str, now: datetime) -> float | None:
    if not started_at or started_at.startswith("0001-"):
        return None
    try:
        start = datetime.fromisoformat(started_at[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None
    return max(0.0, (now - start).total_seconds())


def describe(attrs: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The fields the dashboard shows, from a container's inspect data (``container.attrs``)."""
    now = now or datetime.now(UTC)
    state = attrs.get("State", {})
    running = state.get("Running", False)
    health = state.get("Health") or {}
    probes = health.get("Log") or []
    return {
        "name": attrs.get("Name", "").lstrip("/"),
        "state": state.get("Status", "unknown"),
        "health": health.get("Status", "none"),
        # why it is down (the verdict says so at once): exit code, last health-check output
        "exit_code": None if running else state.get("ExitCode"),
        "health_log": str(probes[-1].get("Output", "")).strip()[:200] if probes else "",
        "restarts": attrs.get("RestartCount", 0),
        "uptime_s": _uptime_s(state.get("StartedAt", ""), now) if running else None,
        "image": attrs.get("Config", {}).get("Image", ""),
    }


def service_name(attrs: dict[str, Any]) -> str:
    """The compose service label, or the container name without a compose-style suffix."""
    labels = attrs.get("Config", {}).get("Labels") or {}
    if labels.get(SERVICE_LABEL):
        return labels[SERVICE_LABEL]
    return attrs.get("Name", "").lstrip("/")


def snapshot(url: str = "", project: str = "") -> DockerSnapshot:
    """Every container (running or not) keyed by service name; never raises."""
    try:
        client = _client(url)
        try:
            containers = client.containers.list(all=True)
            found: dict[str, dict[str, Any]] = {}
            for c in containers:
                labels = c.attrs.get("Config", {}).get("Labels") or {}
                if project and labels.get(PROJECT_LABEL) != project:
                    continue
                found[service_name(c.attrs)] = {**describe(c.attrs), "id": c.id}
            return DockerSnapshot(True, containers=found)
        finally:
            client.close()
    except Exception as exc:  # the SDK raises many types (DockerException, requests, OSError)
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.info("docker unavailable: %s", reason)
        return DockerSnapshot(False, reason=reason)


def logs(container_id: str, url: str = "", tail: int = 200) -> str:
    """The container's last ``tail`` log lines, or a one-line explanation when unavailable."""
    try:
        client = _client(url)
        try:
            # our log lines carry their own timestamp: Docker's would double it
            raw = client.containers.get(container_id).logs(tail=tail, timestamps=False)
            return raw.decode("utf-8", "replace")
        finally:
            client.close()
    except Exception as exc:
        return f"(logs unavailable: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})"
