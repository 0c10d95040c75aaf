"""Every bounded setting refuses a value out of range, and the error names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from service_monitor.settings import MonitorSettings

from dashboard.settings import DashboardSettings
from librarian.settings import LibrarianSettings
from photo_factory.settings import CoreSettings, SettingsError, load
from processor.backup.settings import BackupSettings
from processor.geocode.service import GeocodeSettings
from processor.stitch.service import StitchSettings
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
    # a poll or a lease of 0 is a loop that never waits (a claim query after another)
    (LibrarianSettings, "PF_POLL_SECONDS", "0", "0.2"),
    (ThumbnailSettings, "PF_THUMBNAIL_POLL_SECONDS", "0", "0.5"),
    (ThumbnailSettings, "PF_THUMBNAIL_LEASE_SECONDS", "0", "2"),
    (BackupSettings, "PF_BACKUP_IDLE_SECONDS", "0", "1"),
    (BackupSettings, "PF_BACKUP_LEASE_SECONDS", "0", "60"),
    (StitchSettings, "PF_STITCH_POLL_SECONDS", "0", "1"),
])
def test_an_out_of_range_setting_is_refused_naming_the_variable(monkeypatch, cls, var, bad, good):
    monkeypatch.setenv(var, bad)
    with pytest.raises(SettingsError, match=var):
        load(cls)
    monkeypatch.setenv(var, good)
    load(cls)


def _every_setting() -> list[tuple[type, str]]:
    from processor.stitch.service import StitchSettings

    classes = (CoreSettings, LibrarianSettings, ThumbnailSettings, BackupSettings, GeocodeSettings, StitchSettings,
               DashboardSettings, MonitorSettings)
    return [(cls, name) for cls in classes for name in cls.model_fields]


_DURATIONS = [(c, n) for c, n in _every_setting() if n.endswith(("_seconds", "_s", "_hours"))]
_NUMBERS = [(c, n) for c, n in _every_setting() if c.model_fields[n].annotation in (int, float)]


@pytest.mark.parametrize(("cls", "name"), _DURATIONS, ids=[f"{c.__name__}.{n}" for c, n in _DURATIONS])
@pytest.mark.parametrize("bad", ["inf", "nan", "-1", "1e300"])
def test_every_duration_is_a_finite_span_a_clock_can_wait(monkeypatch, cls, name, bad):
    """Found by loading every service's settings with odd values: ``PF_HEARTBEAT_SECONDS=inf``
    started, then the first beat failed in PostgreSQL ("interval out of range"); ``1e300`` as a
    poll interval crashed the idle loop ("timestamp out of range for platform time_t"); a
    negative lease or ``nan`` poll made a thread wait 0 s, a hot loop on the database (~35 % of
    a core). Each must stop the service at start, naming the variable."""
    var = f"PF_{name.upper()}"
    monkeypatch.setenv(var, bad)
    with pytest.raises(SettingsError, match=var):
        load(cls)
    monkeypatch.setenv(var, "86400")
    load(cls)


@pytest.mark.parametrize(("cls", "name"), _NUMBERS, ids=[f"{c.__name__}.{n}" for c, n in _NUMBERS])
def test_no_number_setting_is_infinite(monkeypatch, cls, name):
    var = f"PF_{name.upper()}"
    monkeypatch.setenv(var, "inf")
    with pytest.raises(SettingsError, match=var):
        load(cls)


_TEXTS = [(c, n) for c, n in _every_setting() if c.model_fields[n].annotation is str]


@pytest.mark.parametrize(("cls", "name"), _TEXTS, ids=[f"{c.__name__}.{n}" for c, n in _TEXTS])
def test_a_text_setting_with_bytes_that_are_not_utf8_is_refused_naming_the_variable(monkeypatch, cls, name):
    """A .env or secret file saved in Latin-1: the bytes reach os.environ as surrogates. Before,
    ``PF_DATABASE_URL`` passed and the first connection died with a UnicodeEncodeError traceback;
    ``PF_DASHBOARD_PASSWORD`` failed every login with one; the Syncthing key every request."""
    var = f"PF_{name.upper()}"
    monkeypatch.setenv(var, os.fsdecode(b"p\xe4ss"))
    with pytest.raises(SettingsError, match=var) as caught:
        load(cls)
    if any(w in var for w in ("URL", "PASSWORD", "KEY", "FLAGS", "REMOTE")):
        assert "\\udce4" not in str(caught.value), "a secret's value is repeated in the message"


def test_the_database_url_with_bytes_that_are_not_utf8_stops_a_command_at_start(tmp_path):
    exe = str(Path(sys.executable).with_name("photo-factory"))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PF_")}
    env["PF_DATABASE_URL"] = os.fsdecode(b"postgresql://pf:p\xe4ss@127.0.0.1:1/photos")
    env["PF_DB_WAIT_SECONDS"] = "1"
    done = subprocess.run([exe, "migrate"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr  # before: exit 1, UnicodeEncodeError traceback
    assert "PF_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr
