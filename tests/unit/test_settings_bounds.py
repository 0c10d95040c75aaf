"""Every bounded setting refuses a value out of range, and the error names the variable."""

import pytest
from service_monitor.settings import MonitorSettings

from dashboard.settings import DashboardSettings
from librarian.settings import LibrarianSettings
from photo_factory.settings import CoreSettings, SettingsError, load
from processor.backup.settings import BackupSettings
from processor.geocode.service import GeocodeSettings
from processor.thumbnails.settings import ThumbnailSettings


@pytest.mark.parametrize(("cls", "var", "bad", "good"), [
    (CoreSettings, "PF_HEARTBEAT_SECONDS", "0", "0.5"),
    (CoreSettings, "PF_DB_WAIT_SECONDS", "-1", "1"),
    (LibrarianSettings, "PF_STABILITY_SECONDS", "-0.1", "0"),
    (LibrarianSettings, "PF_RESCAN_SECONDS", "-1", "0"),
    (LibrarianSettings, "PF_EXIFTOOL_BATCH", "0", "1"),
    (LibrarianSettings, "PF_EXIFTOOL_PROCESSES", "0", "1"),
    (LibrarianSettings, "PF_LIBRARIAN_HEARTBEAT_SECONDS", "0", "1"),
    (ThumbnailSettings, "PF_THUMBNAIL_QUALITY", "101", "100"),
    (ThumbnailSettings, "PF_THUMBNAIL_QUALITY", "0", "1"),
    (ThumbnailSettings, "PF_THUMBNAIL_MAX_PIXELS", "0", "1"),
    (BackupSettings, "PF_BACKUP_BATCH_SIZE", "0", "1"),
    (BackupSettings, "PF_BACKUP_KEEP_DAILY", "-1", "0"),
    (GeocodeSettings, "PF_GEOCODE_CACHE_DECIMALS", "6", "5"),
    (DashboardSettings, "PF_STALE_FACTOR", "0", "0.5"),
    (MonitorSettings, "PF_RETENTION_DAYS", "0", "1"),
    (MonitorSettings, "PF_MONITOR_INTERVAL_S", "0", "1"),
])
def test_an_out_of_range_setting_is_refused_naming_the_variable(monkeypatch, cls, var, bad, good):
    monkeypatch.setenv(var, bad)
    with pytest.raises(SettingsError, match=var):
        load(cls)
    monkeypatch.setenv(var, good)
    load(cls)
