"""What every dashboard page gets: settings, the store, deployed tables, Docker state (per rerun)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard import docker_state
from dashboard.settings import DashboardSettings
from dashboard.store import DashboardStore
from photo_factory.settings import CoreSettings


@dataclass
class Context:
    core: CoreSettings
    settings: DashboardSettings
    store: DashboardStore
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def present(self) -> set[str]:
        if "present" not in self._cache:
            self._cache["present"] = self.store.present()
        return self._cache["present"]

    @property
    def docker(self) -> docker_state.DockerSnapshot:
        if "docker" not in self._cache:
            self._cache["docker"] = docker_state.snapshot(self.settings.docker_url, self.settings.compose_project)
        return self._cache["docker"]
