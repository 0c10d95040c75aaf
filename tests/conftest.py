"""Shared fixtures: a real PostgreSQL (started on demand), a migrated template database, and a
fresh database cloned from it for each test that asks for ``database_url``.

Set ``PF_TEST_DATABASE_URL`` (a superuser URL, any database) to use an existing server; otherwise
a private cluster is started under ``$TMPDIR/photo-factory-test-pg`` on port 54329 (override with
``PF_TEST_PG_PORT``) and left running for the next run.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from photo_factory import localpg, migrate

REPO = Path(__file__).resolve().parent.parent


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def _admin(url: str):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("PF_TEST_DATABASE_URL")
    if url:
        return url
    datadir = Path(tempfile.gettempdir()) / "photo-factory-test-pg"
    return localpg.ensure_cluster(datadir, int(os.environ.get("PF_TEST_PG_PORT", "54329")))


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """A database with every migration applied from scratch (proves they apply), used as template."""
    name = f"pf_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = _admin(pg_server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    migrate.apply(_with_db(pg_server_url, name))
    yield name
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def database_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated, empty database for this test; dropped afterwards."""
    name = f"pf_t_{uuid.uuid4().hex[:12]}"
    conn = _admin(pg_server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _with_db(pg_server_url, name)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    """An empty database (no migrations applied): what a restore targets; dropped afterwards."""
    from processor.backup.store import create_scratch_database, drop_scratch_database

    name = f"pf_e_{uuid.uuid4().hex[:12]}"
    url = create_scratch_database(pg_server_url, name)
    yield url
    drop_scratch_database(pg_server_url, name)


@pytest.fixture
def storage(tmp_path: Path) -> dict[str, Path]:
    """An inbox and a storage root in the test's temporary folder."""
    inbox = tmp_path / "inbox"
    store = tmp_path / "storage"
    inbox.mkdir()
    store.mkdir()
    return {"inbox": inbox, "storage": store}


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The backup tests' remote: ``secret:``, an rclone crypt remote over a folder in ``tmp_path``,
    with ``RCLONE_CONFIG`` set to its config (``tests.support.backup_samples.Remote``)."""
    from tests.support import backup_samples

    return backup_samples.use_crypt_remote(tmp_path, monkeypatch)


@pytest.fixture
def pf_env(database_url: str, storage: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for running ``photo-factory`` against this test's database and folders."""
    env = {
        "PF_DATABASE_URL": database_url,
        "PF_INBOX_DIR": str(storage["inbox"]),
        "PF_STORAGE_DIR": str(storage["storage"]),
        "PF_STABILITY_SECONDS": "0.3",
        # an incomplete (cut) file is quarantined at once, unless a test is about its grace period
        "PF_INCOMPLETE_GRACE_SECONDS": "0",
        "PF_HEARTBEAT_SECONDS": "5",
        "PF_DB_WAIT_SECONDS": "5",
        "TZ": "Europe/Berlin",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return {**os.environ, **env}



@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything that drives the one Docker engine runs in one xdist worker, one after another
    (the stacks share the engine, its build cache and its CPU); the rest spreads over the workers.

    The compose end-to-end tests (``tests/e2e``, marker ``docker``) build images and run whole stacks for many
    minutes: they run with ``PF_E2E=1`` (``make test-e2e``) and skip, saying so, otherwise."""
    e2e_skip = pytest.mark.skip(reason="Docker end-to-end stack tests run with PF_E2E=1 (make test-e2e)")
    for item in items:
        path = Path(str(item.fspath)).as_posix()
        if "/tests/e2e/" in path or item.get_closest_marker("docker") or "docker" in Path(path).name:
            item.add_marker(pytest.mark.xdist_group("docker"))
        if item.get_closest_marker("docker") and "/tests/e2e/" in path and os.environ.get("PF_E2E") != "1":
            item.add_marker(e2e_skip)
