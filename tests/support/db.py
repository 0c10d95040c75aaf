"""Test helpers for reading the real database (tests only; services go through their stores)."""

from __future__ import annotations

import psycopg2
import psycopg2.extras


def query(database_url: str, sql: str, *params: object) -> list[dict]:
    """Rows of a test query, as dicts (one short-lived connection)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params or None)
            return [dict(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def tuples(database_url: str, sql: str, *params: object) -> list[tuple]:
    """Rows of a test query, as tuples."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()
