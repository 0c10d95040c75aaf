"""Settings of the service-monitor (``PF_MONITOR_…``, ``PF_SYNCTHING_…``, ``PF_ALERT_…``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator

from photo_factory.settings import PFSettings


class MonitorSettings(PFSettings):
    #: Seconds between monitor rounds (and the interval of the beats it writes for others).
    monitor_interval_s: PositiveFloat = 60.0
    #: A service is stale when its last heartbeat is older than this many of its own intervals.
    stale_factor: PositiveFloat = 3.0
    syncthing_url: str = "http://127.0.0.1:8384"
    #: Empty: Syncthing is not checked (shown as "not configured").
    syncthing_api_key: str = ""
    #: Folder id of the inbox share in Syncthing (empty: only reachability and version).
    syncthing_folder: str = ""
    #: Apprise URLs, separated by spaces or commas (mailto://, discord://, slack://, json://, …).
    alert_urls: str = ""
    #: Disk: alert when free space on the storage or inbox volume falls below either limit.
    disk_min_free_percent: float = 10.0
    disk_min_free_gb: float = 5.0
    #: Alert when more items than this failed (quarantined, stage failures) in the last hour.
    failures_per_hour: int = 20
    #: Alert when the last good backup is older than this (only once a backup has been deployed).
    backup_max_age_hours: PositiveFloat = 48.0
    #: Heartbeat history (and resolved incidents) older than this is pruned, daily.
    #: An incident is resolved (and the recovery sent) only after its condition stayed away this
    #: long, so a flapping service yields one problem and one recovery, not one per flap.
    alert_recovery_seconds: float = 120.0
    retention_days: PositiveInt = 60
    cleanup_every_hours: PositiveFloat = 24.0
    #: Remind every this many hours while a problem lasts (0: never remind).
    alert_repeat_hours: NonNegativeFloat = 24.0
    #: The database unreachable this long (seconds) before its root alert goes out.
    alert_db_confirm_seconds: NonNegativeFloat = 30.0
    #: Daily digest at this local hour (0-23; empty: no digest).
    alert_digest_hour: int | None = Field(default=None, ge=0, le=23)
    #: Dead-man's ping: GET this URL every round while all is fine (healthchecks.io, Uptime Kuma push).
    healthcheck_ping_url: str = ""
    #: GET this one when something is wrong (default: the ping URL + /fail, healthchecks.io style).
    healthcheck_fail_url: str = ""
    healthcheck_timeout_s: PositiveFloat = 10.0
    #: Prometheus /metrics on this port (0: off) and address.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_address: str = "127.0.0.1"

    @field_validator("alert_digest_hour", mode="before")
    @classmethod
    def _empty_is_off(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @property
    def alert_targets(self) -> list[str]:
        return [u for u in self.alert_urls.replace(",", " ").split() if u]
