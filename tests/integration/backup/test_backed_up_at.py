"""``backed_up_at`` is stamped by the update that sets ``is_backed_up`` (migration 0021): one row
update per backed-up file, not two, and a statement that names the time keeps its own."""

from __future__ import annotations

import pytest

from tests.support import backup_samples as bs

pytestmark = pytest.mark.integration


def test_the_flag_turning_true_stamps_the_time_once_and_an_explicit_time_is_kept(database_url, storage):
    a, b = (bs.add_asset(database_url, storage["storage"], n)["id"] for n in range(2))
    bs.query(database_url, "UPDATE media_assets SET is_backed_up = true WHERE id = %s", (a,))
    bs.query(database_url, "UPDATE media_assets SET is_backed_up = true, backed_up_at = '2020-01-01Z' WHERE id = %s",
             (b,))
    first = bs.query(database_url, "SELECT backed_up_at FROM media_assets WHERE id = %s", (a,))[0][0]
    assert first is not None
    bs.query(database_url, "UPDATE media_assets SET is_backed_up = true WHERE id = %s", (a,))  # already true
    rows = bs.query(database_url, "SELECT id, backed_up_at::text FROM media_assets ORDER BY id")
    assert rows[0][1] == str(bs.query(database_url, "SELECT %s::timestamptz::text", (first,))[0][0])
    assert rows[1][1].startswith("2020-01-01")
