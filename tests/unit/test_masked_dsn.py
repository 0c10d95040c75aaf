"""`make run` prints the database it uses: never with its password (console and log keep no secret)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photo_factory.devrun import _shown, masked


@pytest.mark.parametrize("dsn, shown", [
    ("postgresql://pf:s3cret@db:5432/pf", "postgresql://pf:***@db:5432/pf"),
    ("postgresql://pf:p%40ss@[::1]:5432/pf", "postgresql://pf:***@[::1]:5432/pf"),
    ("postgresql://pf@127.0.0.1:54329/pf", "postgresql://pf@127.0.0.1:54329/pf"),
    ("postgresql://db/pf?user=pf&password=s3cret&sslmode=require",
     "postgresql://db/pf?user=pf&password=***&sslmode=require"),
    ("host=db user=pf password=s3cret dbname=pf", "host=db user=pf password=*** dbname=pf"),
    ("host=db password='with space' dbname=pf", "host=db password=*** dbname=pf"),
])
def test_the_password_is_masked(dsn: str, shown: str) -> None:
    assert masked(dsn) == shown


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="@/?#[]%'\\"),
               min_size=1, max_size=40))
def test_no_password_is_ever_printed(password: str) -> None:
    assert masked(f"postgresql://pf:{password}@db:5432/pf") == "postgresql://pf:***@db:5432/pf"
    assert masked(f"host=db password={password} dbname=pf") == "host=db password=*** dbname=pf"
    assert masked(f"postgresql://db/pf?password={password.replace('&', '')}x&sslmode=require") == (
        "postgresql://db/pf?password=***&sslmode=require")


def test_make_run_shows_a_masked_url_or_where_a_secret_comes_from() -> None:
    assert _shown({"PF_DATABASE_URL": "postgresql://pf:s3cret@db/pf"}, "PF_DATABASE_URL") == "postgresql://pf:***@db/pf"
    assert "s3cret" not in _shown({"PF_DATABASE_URL_FILE": "/run/secrets/db"}, "PF_DATABASE_URL")
