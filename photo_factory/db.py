"""Database access: connections with an application name, and named SQL queries from ``.sql`` files.

A ``queries.sql`` file holds blocks introduced by ``-- name: query_name``; parameters are
``%(name)s`` only. Stores (one per service) are the only code that runs SQL.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import psycopg2.extensions
import psycopg2.extras

log = logging.getLogger(__name__)

#: Errors that mean "the database is not reachable right now" (retry later), not "bad SQL".
UNAVAILABLE = (psycopg2.OperationalError, psycopg2.InterfaceError)

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def load_queries(path: Path) -> dict[str, str]:
    """Parse a ``queries.sql`` file into ``{name: sql}``."""
    text = path.read_text()
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        sql = body.strip()
        if name in queries:
            raise ValueError(f"{path}: query {name!r} defined twice")
        queries[name] = sql
    return queries


def merge_queries(*sets: dict[str, str]) -> dict[str, str]:
    """Several ``queries.sql`` files as one set; a name defined in two of them is an error."""
    out: dict[str, str] = {}
    for queries in sets:
        if twice := sorted(out.keys() & queries.keys()):
            raise ValueError(f"queries defined twice: {', '.join(twice)}")
        out.update(queries)
    return out


def without_commit_wait(url: str) -> str:
    """``url`` for a connection whose commits do not wait for their WAL flush
    (``synchronous_commit=off``): a PostgreSQL crash may forget its last fraction of a second of
    commits, never write half of one. Only for writes that are redone when forgotten."""
    params = psycopg2.extensions.parse_dsn(url)
    params["options"] = f"{params.get('options', '')} -c synchronous_commit=off".strip()
    return psycopg2.extensions.make_dsn(**params)


def connect(url: str, application_name: str, *, autocommit: bool = False,
            connect_timeout: int = 5) -> psycopg2.extensions.connection:
    """Open a connection tagged with ``application_name`` (visible in ``pg_stat_activity``)."""
    conn = psycopg2.connect(
        url,
        application_name=application_name,
        connect_timeout=connect_timeout,
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
        client_encoding="UTF8",  # names and metadata are Unicode, whatever the server's default
    )
    conn.autocommit = autocommit
    psycopg2.extras.register_default_jsonb(conn, loads=None)
    return conn


#: Connection errors that waiting does not fix (a wrong role, password or database name).
_PERMANENT = ("password authentication failed", "no pg_hba.conf entry", "role \"", "database \"",
              "invalid connection option", "invalid dsn", "invalid uri")


def permanent(exc: Exception) -> bool:
    """True when ``exc`` is a configuration error, not a database that is not up yet."""
    text = str(exc).lower()
    return any(p in text for p in _PERMANENT) and ("does not exist" in text or "failed" in text
                                                   or "no pg_hba" in text or "invalid" in text)


def wait_for(url: str, application_name: str, timeout: float) -> psycopg2.extensions.connection:
    """Connect, retrying with backoff for up to ``timeout`` seconds; re-raise the last error.
    A wrong role, password or database name is raised at once: waiting would not fix it."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return connect(url, application_name)
        except UNAVAILABLE as exc:
            if permanent(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("database not reachable (%s); retrying in %.1fs", str(exc).strip(), delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


class Database:
    """One lazily (re)opened connection for a service thread, plus its named queries.

    ``transaction()`` commits on success and rolls back on error; a broken connection is
    discarded so the next call reconnects (the database may come back at any time).
    """

    def __init__(self, url: str, application_name: str, queries: dict[str, str] | None = None):
        self.url = url
        self.application_name = application_name
        self.queries = queries or {}
        self._conn: psycopg2.extensions.connection | None = None

    @property
    def conn(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, self.application_name)
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extras.RealDictCursor]:
        conn = self.conn
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
            conn.commit()
        except UNAVAILABLE:
            self.close()
            raise
        except BaseException:
            try:
                conn.rollback()
            except UNAVAILABLE:
                self.close()
            raise

    def sql(self, name: str) -> str:
        return self.queries[name]

    def fetchall(self, name: str, params: dict | None = None) -> list[dict]:
        with self.transaction() as cur:
            cur.execute(self.sql(name), params or {})
            return list(cur.fetchall())

    def fetchone(self, name: str, params: dict | None = None) -> dict | None:
        with self.transaction() as cur:
            cur.execute(self.sql(name), params or {})
            return cur.fetchone()

    def execute(self, name: str, params: dict | None = None) -> int:
        with self.transaction() as cur:
            cur.execute(self.sql(name), params or {})
            return cur.rowcount


def json(value: object) -> psycopg2.extras.Json:
    """Wrap a value for a JSONB parameter."""
    return psycopg2.extras.Json(value)
