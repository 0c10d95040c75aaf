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


# -- what a PF_X_FILE may name: bounded in time and memory ------------------------------------------
# Found by pointing PF_DATABASE_URL_FILE at odd files: a FIFO no program writes to blocked the
# service's start forever (open() of a FIFO waits for a writer; no message, no exit); /dev/zero
# or a wrong, huge file was read whole (MemoryError, or the host's OOM killer); a file with
# bytes that are not UTF-8 (a Latin-1 folder name) crashed with a UnicodeDecodeError traceback
# where the same bytes in PF_X itself are taken as os.environ takes them.

_EXE = str(Path(sys.executable).with_name("photo-factory"))


def _librarian_once(env: dict[str, str], *, memory_limit: int | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if memory_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run([_EXE, "librarian", "--once"], env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


def test_a_secret_fifo_without_a_writer_is_refused_and_one_with_a_writer_is_read(
        pf_env, database_url, storage, tmp_path):
    samples.photo(storage["inbox"] / "DCIM" / "IMG_0001.jpg")
    expected = invariants.contents(invariants.files(storage["inbox"]))
    fifo = tmp_path / "db_url"
    os.mkfifo(fifo)
    env = {k: v for k, v in pf_env.items() if k != "PF_DATABASE_URL"}
    env["PF_DATABASE_URL_FILE"] = str(fifo)
    try:
        done = _librarian_once(env)  # before: blocked in open() until this timeout
    except subprocess.TimeoutExpired:
        pytest.fail("the librarian waited forever for a writer of PF_DATABASE_URL_FILE")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "PF_DATABASE_URL_FILE" in done.stderr and "nothing to read" in done.stderr
    assert invariants.files(storage["inbox"]), "nothing may be taken without a database"

    # `PF_DATABASE_URL_FILE=<(pass show db)`: a pipe whose writer comes with the secret
    def write() -> None:
        with open(fifo, "w") as fh:
            fh.write(database_url + "\n")

    import threading

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    done = _librarian_once(env)
    writer.join(30)
    assert done.returncode == 0, done.stdout + done.stderr
    invariants.check(database_url, storage["inbox"], storage["storage"], expected)


@pytest.mark.parametrize("kind", ["dev_zero", "sparse_8_gb"])
def test_a_secret_file_that_is_endless_or_huge_is_refused_without_reading_it(
        pf_env, database_url, storage, tmp_path, kind):
    samples.photo(storage["inbox"] / "DCIM" / "IMG_0001.jpg")
    expected = invariants.contents(invariants.files(storage["inbox"]))
    if kind == "dev_zero":
        secret = "/dev/zero"
    else:
        big = tmp_path / "cities.txt"
        with open(big, "wb") as fh:
            fh.truncate(8 << 30)  # sparse: no disk used, 8 GB to read
        secret = str(big)
    env = {k: v for k, v in pf_env.items() if k != "PF_DATABASE_URL"}
    env["PF_DATABASE_URL_FILE"] = secret
    # before: read whole (MemoryError under this limit; without one, the host's OOM killer)
    done = _librarian_once(env, memory_limit=3 << 30)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "PF_DATABASE_URL_FILE" in done.stderr and "not a secret" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    done = _librarian_once(pf_env)  # the variable itself: all is well
    assert done.returncode == 0, done.stdout + done.stderr
    invariants.check(database_url, storage["inbox"], storage["storage"], expected)


def test_a_secret_file_with_bytes_that_are_not_utf8_reads_as_the_variable_would(
        pf_env, database_url, storage, tmp_path):
    inbox = Path(os.fsdecode(bytes(storage["inbox"]) + b"/Fotos_\xe9t\xe9"))  # a Latin-1 folder name
    samples.photo(inbox / "IMG_0001.jpg")
    expected = invariants.contents(invariants.files(storage["inbox"]))
    secret = tmp_path / "inbox_dir"
    secret.write_bytes(os.fsencode(inbox) + b"\n")
    env = {k: v for k, v in pf_env.items() if k != "PF_INBOX_DIR"}
    env["PF_INBOX_DIR_FILE"] = str(secret)
    done = _librarian_once(env)  # before: UnicodeDecodeError, exit 1
    assert done.returncode == 0, done.stdout + done.stderr
    assert not invariants.files(inbox)
    invariants.check(database_url, storage["inbox"], storage["storage"], expected)


@pytest.mark.parametrize("kind", ["zip_as_geonames_ships_it", "a_readme", "bad_geojson"])
def test_a_geocode_data_file_that_cannot_be_used_stops_the_geocoder_naming_its_variable(
        pf_env, database_url, storage, tmp_path, kind):
    """``PF_GEOCODE_CITIES_FILE=cities1000.zip`` (GeoNames ships it zipped): before, every start
    died with a UnicodeDecodeError traceback; a file with no populated places was taken, and
    every photo then failed in the geocoder instead."""
    import zipfile

    samples.photo(storage["inbox"] / "DCIM" / "IMG_0001.jpg")
    expected = invariants.contents(invariants.files(storage["inbox"]))
    assert _librarian_once(pf_env).returncode == 0
    var = "PF_GEOCODE_BOUNDARIES_FILE" if kind == "bad_geojson" else "PF_GEOCODE_CITIES_FILE"
    data = tmp_path / {"zip_as_geonames_ships_it": "cities1000.zip", "a_readme": "README.txt",
                       "bad_geojson": "admin1.geojson"}[kind]
    if kind == "zip_as_geonames_ships_it":
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("cities1000.txt", "2988507\tParis\tParis\t\t48.85341\t2.3488\tP\tPPLC\tFR\t\t11\t75\n" * 500)
    elif kind == "a_readme":
        data.write_text("GeoNames data, see cities1000.txt\n")
    else:
        data.write_text('{"type": "FeatureCollection", "features": [')
    done = subprocess.run([_EXE, "geocode", "--once"], env={**pf_env, var: str(data)}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert var in done.stderr and "Traceback" not in done.stdout + done.stderr
    invariants.check(database_url, storage["inbox"], storage["storage"], expected)
