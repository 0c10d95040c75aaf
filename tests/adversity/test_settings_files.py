"""Settings whose names end in ``_FILE`` meet the Docker-secrets convention (``PF_X_FILE`` names the
file holding ``PF_X``). Found by attacking the settings loader: ``PF_GEOCODE_CITIES_FILE`` (the
README's GeoNames dump, ~9 MB) was read as the "secret" of a ``PF_GEOCODE_CITIES`` into the
environment of every service that shares the .env, and each tool started after it failed with
"Argument list too long" (an environment string over 128 KB): the librarian's ExifTool, the
thumbnailer's ffmpeg, the backup's rclone. A secret is read only for a setting of the class
being loaded, and never copied into the environment the tools inherit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.settings import DashboardSettings
from librarian.settings import LibrarianSettings
from photo_factory.settings import CoreSettings, SettingsError, load
from processor.backup.settings import BackupSettings
from processor.geocode.service import GeocodeSettings
from processor.thumbnails.settings import ThumbnailSettings
from tests.support import invariants, samples


@pytest.fixture
def big_data_file(tmp_path: Path) -> Path:
    """A GeoNames-like dump, over the kernel's 128 KB limit for one environment string."""
    path = tmp_path / "cities1000.txt"
    row = "\t".join(["2988507", "Paris", "Paris", "", "48.85341", "2.3488", "P", "PPLC", "FR", "", "11",
                     "75", "751", "75056", "2138551", "", "42", "Europe/Paris", "2024-01-01"]) + "\n"
    path.write_text(row * 4000)
    assert path.stat().st_size > 256 * 1024
    return path


def test_a_setting_named_like_a_secret_file_is_not_read_into_the_environment(monkeypatch, big_data_file):
    monkeypatch.setenv("PF_GEOCODE_CITIES_FILE", str(big_data_file))
    monkeypatch.setenv("PF_ENV_FILE", str(big_data_file))  # make run's env file: not a secret either
    for cls in (CoreSettings, LibrarianSettings, ThumbnailSettings, BackupSettings, DashboardSettings):
        load(cls)
    assert load(GeocodeSettings).geocode_cities_file == big_data_file
    assert "PF_GEOCODE_CITIES" not in os.environ and "PF_ENV" not in os.environ
    subprocess.run(["true"], check=True)  # a tool still starts


def test_a_secret_is_read_for_the_class_that_has_it_and_not_left_in_the_environment(monkeypatch, tmp_path):
    secret = tmp_path / "db_url"
    secret.write_text("postgresql://pf:s3cret@db/photos\n")
    monkeypatch.delenv("PF_DATABASE_URL", raising=False)
    monkeypatch.setenv("PF_DATABASE_URL_FILE", str(secret))
    assert load(CoreSettings).database_url == "postgresql://pf:s3cret@db/photos"
    load(LibrarianSettings)  # has no such field: nothing read, nothing refused
    assert "PF_DATABASE_URL" not in os.environ  # ExifTool, ffmpeg, rclone do not inherit it
    monkeypatch.setenv("PF_DATABASE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="PF_DATABASE_URL_FILE: cannot read"):
        load(CoreSettings)


def test_the_librarian_files_photos_with_the_geocoders_data_file_in_its_environment(
        pf_env, database_url, storage, big_data_file):
    """The compose stack gives every service the same .env: the geocoder's data file is set for
    the librarian too, and its ExifTool must still start."""
    samples.photo(storage["inbox"] / "DCIM" / "IMG_0001.jpg")
    expected = invariants.contents(invariants.files(storage["inbox"]))
    exe = str(Path(sys.executable).with_name("photo-factory"))
    done = subprocess.run([exe, "librarian", "--once"], env={**pf_env, "PF_GEOCODE_CITIES_FILE": str(big_data_file)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Argument list too long" not in done.stdout + done.stderr
    invariants.check(database_url, storage["inbox"], storage["storage"], expected)
    assert len(list((storage["storage"] / "Library").rglob("*.jpg"))) == 1
