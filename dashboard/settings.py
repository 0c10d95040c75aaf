"""Settings of the dashboard and ``photo-factory status`` (``PF_DASHBOARD_…``, ``PF_STALE_FACTOR``)."""

from __future__ import annotations

from pydantic import PositiveFloat

from photo_factory.settings import PFSettings


class DashboardSettings(PFSettings):
    #: Optional password; empty means no login (fine on a LAN, set it before exposing the port).
    dashboard_password: str = ""
    dashboard_heartbeat_seconds: PositiveFloat = 300.0
    #: Default auto-refresh interval in seconds (0 = off); selectable in the sidebar.
    dashboard_refresh_s: int = 30
    #: A heartbeat older than this many of the service's own intervals reads as stale.
    stale_factor: PositiveFloat = 3.0
    #: Docker engine URL (empty: DOCKER_HOST or the local socket); read-only use.
    docker_url: str = ""
    #: Only containers of this compose project (empty: any container with a matching service name).
    compose_project: str = ""
