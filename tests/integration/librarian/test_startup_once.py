"""The library check (a walk of the whole library) runs once per process; a database reconnect
replays the journal again (the lock was lost with the session) but never walks the library again."""

from __future__ import annotations

import pytest

from librarian.service import Librarian
from librarian.settings import LibrarianSettings
from photo_factory import settings

pytestmark = pytest.mark.integration


def test_a_reconnect_replays_the_journal_but_does_not_walk_the_library_again(pf_env, storage, monkeypatch):
    lib = Librarian(settings.load(settings.CoreSettings), settings.load(LibrarianSettings), once=True)
    calls = {"replay": 0, "check": 0}
    replay, check = lib.ingestor.reconcile, lib.ingestor.reconcile_library

    def counted(name, fn):
        def run(*a, **kw):
            calls[name] += 1
            return fn(*a, **kw)
        return run

    monkeypatch.setattr(lib.ingestor, "reconcile", counted("replay", replay))
    monkeypatch.setattr(lib.ingestor, "reconcile_library", counted("check", check))
    lib.start()
    try:
        assert lib._prepare()
        lib.store.db.close()  # the database went away and came back: a new session
        assert lib._prepare()
        assert lib._prepare()
    finally:
        lib.close()
    assert calls == {"replay": 2, "check": 1}
