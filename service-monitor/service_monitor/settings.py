"""Settings of the service-monitor (``PF_MONITOR_…``, ``PF_SYNCTHING_…``, ``PF_ALERT_…``)."""

from __future__ import annotations

from pydantic import PositiveFloat, PositiveInt

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

    @property
    def alert_targets(self) -> list[str]:
        return [u for u in self.alert_urls.replace(",", " ").split() if u]
