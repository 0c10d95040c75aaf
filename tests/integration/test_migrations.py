import threading

import psycopg2
import pytest

from photo_factory import migrate

pytestmark = pytest.mark.integration


def test_migrations_apply_from_scratch_and_twice_is_a_no_op(database_url):
    # the template was built from scratch; applying again finds nothing to do
    assert migrate.apply(database_url) == []
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == len(migrate.discover())


def test_concurrent_migrators_apply_each_migration_once(pg_server_url, database_url):
    # A fresh empty database, migrated by four threads at once.
    import uuid

    from tests.conftest import _admin, _with_db

    name = f"pf_empty_{uuid.uuid4().hex[:8]}"
    admin = _admin(pg_server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(pg_server_url, name)
    results, errors = [], []

    def worker():
        try:
            results.append(len(migrate.apply(url)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        assert sorted(results) == [0, 0, 0, len(migrate.discover())]
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
