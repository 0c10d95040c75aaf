"""How a setting is found in the environment (photo_factory/settings.py, ADR-063): the rules the
project kept when it stopped importing pydantic-settings, each pinned here.

``PF_<FIELD>`` in any case; an exact upper-case name first; keyword arguments win; ``PF_X_FILE``
is a secret read from a file; every default is validated too; a bad value names its variable; a
variable of another service, or with another prefix, is ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from librarian.settings import LibrarianSettings
from photo_factory.settings import CoreSettings, SettingsError, load
from processor.backup.settings import BackupSettings
from processor.thumbnails.settings import ThumbnailSettings

_PF = {k for k in os.environ if k.upper().startswith("PF_")}


@pytest.fixture(autouse=True)
def _no_pf_variables(monkeypatch):
    for key in _PF:
        monkeypatch.delenv(key, raising=False)


@settings(max_examples=60, deadline=None)
@given(flips=st.lists(st.booleans(), min_size=len("PF_STABILITY_SECONDS"), max_size=len("PF_STABILITY_SECONDS")),
       value=st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_a_variable_is_read_in_any_case(flips, value):
    name = "".join(c.lower() if f else c for c, f in zip("PF_STABILITY_SECONDS", flips, strict=True))
    os.environ[name] = repr(value)
    try:
        assert LibrarianSettings().stability_seconds == value
    finally:
        del os.environ[name]


def test_the_upper_case_name_wins_over_another_spelling(monkeypatch):
    monkeypatch.setenv("pf_stability_seconds", "7")
    monkeypatch.setenv("PF_STABILITY_SECONDS", "3")
    assert LibrarianSettings().stability_seconds == 3.0


def test_a_keyword_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("PF_BACKUP_BATCH_SIZE", "7")
    assert BackupSettings(backup_batch_size=3).backup_batch_size == 3
    assert BackupSettings().backup_batch_size == 7


def test_values_are_parsed_by_type(monkeypatch, tmp_path):
    monkeypatch.setenv("PF_BACKUP_DAEMON", "no")  # not a field: ignored
    monkeypatch.setenv("PF_BACKUP_RCLONE_DAEMON", "off")
    monkeypatch.setenv("PF_BACKUP_VERIFY", "sha256")
    monkeypatch.setenv("PF_STORAGE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("PF_INBOX_DIR", str(tmp_path / "i"))
    got = load(BackupSettings)
    assert got.backup_rclone_daemon is False and got.backup_verify == "sha256"
    assert load(CoreSettings).storage_dir == tmp_path / "s"
    monkeypatch.setenv("PF_BACKUP_VERIFY", "md5")
    with pytest.raises(SettingsError, match="PF_BACKUP_VERIFY"):
        load(BackupSettings)


def test_a_variable_without_our_prefix_or_of_a_name_no_field_has_is_ignored(monkeypatch):
    monkeypatch.setenv("STABILITY_SECONDS", "9")
    monkeypatch.setenv("XPF_STABILITY_SECONDS", "9")
    monkeypatch.setenv("PF_STABILITY_SECONDSX", "9")
    assert LibrarianSettings().stability_seconds == 5.0


def test_an_empty_value_is_a_value_not_a_default(monkeypatch):
    monkeypatch.setenv("PF_STABILITY_SECONDS", "")
    with pytest.raises(SettingsError, match="PF_STABILITY_SECONDS"):
        load(LibrarianSettings)


def test_defaults_are_validated_like_values():
    assert ThumbnailSettings().sizes == (1440, 256)  # "256,1440" went through the validator


def test_a_secret_comes_from_its_file_unless_the_variable_is_set(monkeypatch, tmp_path: Path):
    secret = tmp_path / "url"
    secret.write_text("postgresql://u:p@db/photos\n")
    monkeypatch.delenv("PF_DATABASE_URL", raising=False)  # the load sets it: undone after the test
    monkeypatch.setenv("PF_DATABASE_URL_FILE", str(secret))
    assert load(CoreSettings).database_url == "postgresql://u:p@db/photos"
    monkeypatch.setenv("PF_DATABASE_URL", "postgresql:///other")
    assert load(CoreSettings).database_url == "postgresql:///other"


def test_settings_are_frozen():
    s = LibrarianSettings()
    with pytest.raises(ValueError):
        s.stability_seconds = 1.0  # type: ignore[misc]


def test_an_empty_value_unsets_a_setting_that_may_be_unset(monkeypatch):
    """``PF_GEOCODE_CITIES_FILE=`` (a .env line left empty) means no file, not the file named ''."""
    from processor.geocode.service import GeocodeSettings

    monkeypatch.setenv("PF_GEOCODE_CITIES_FILE", "")
    monkeypatch.setenv("PF_GEOCODE_BOUNDARIES_FILE", "")
    got = load(GeocodeSettings)
    assert got.geocode_cities_file is None and got.geocode_boundaries_file is None


def test_an_empty_secret_file_variable_names_no_file(monkeypatch, tmp_path: Path):
    """``PF_DASHBOARD_PASSWORD_FILE=`` (a .env line left empty, compose's ``${X:-}``) is no secret,
    not the file named '' (was: "cannot read"); an empty ``PF_X`` beside a ``PF_X_FILE`` leaves the
    value to the file (was: the empty value, for a database URL libpq's local default)."""
    from dashboard.settings import DashboardSettings

    monkeypatch.setenv("PF_DASHBOARD_PASSWORD_FILE", "")
    assert load(DashboardSettings).dashboard_password == ""
    secret = tmp_path / "url"
    secret.write_text("postgresql://u:p@db/photos\n")
    monkeypatch.setenv("PF_DATABASE_URL", "")
    monkeypatch.setenv("PF_DATABASE_URL_FILE", str(secret))
    assert load(CoreSettings).database_url == "postgresql://u:p@db/photos"
