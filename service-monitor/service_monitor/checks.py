"""The result of one infrastructure check: what the monitor beats on behalf of a service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """``status`` is a heartbeat status (ok, degraded, error); ``details`` goes to JSONB."""

    service: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"
