"""A burst is filed at the pace of its reading and hashing: the librarian's filing thread does not
wait three times per 8 files for the disk when it is behind (librarian/ingest.py, issue 15)."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

import librarian.ingest as filing
from librarian import metadata
from tests.integration.librarian.conftest import files
from tests.support import samples

pytestmark = pytest.mark.integration


class _AtOnce:
    """An executor that runs each task when it is submitted: everything is read and hashed
    before the filing thread looks, as when it is the one behind."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, fn, *args, **kwargs) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            done.set_exception(exc)
        return done

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def test_chunks_already_read_and_hashed_are_filed_together_after_the_first(storage, ingest, query, monkeypatch):
    """The first chunk alone (the stage workers get assets at once), then every chunk that is
    ready joins: one journal commit and one round of folder fsyncs for up to 64 (recorded 8 at
    a time still)."""
    inbox: Path = storage["inbox"]
    for i in range(40):
        samples.image(inbox / f"IMG_{i:03d}.jpg", "JPEG", seed=i)
    monkeypatch.setattr(filing, "ThreadPoolExecutor", _AtOnce)
    monkeypatch.setattr(metadata.MetadataReader, "submit",
                        lambda self, paths: _AtOnce().submit(self._read, list(paths)))
    sizes: list[int] = []
    real = filing.Ingestor._file_planned

    def spy(self, planned):
        sizes.append(len(planned))
        return real(self, planned)

    monkeypatch.setattr(filing.Ingestor, "_file_planned", spy)
    ingest()
    assert sizes == [8, 32]
    assert files(inbox) == [] and len(files(storage["storage"] / "Library")) == 40
    assert query("SELECT count(*) AS n FROM media_assets")[0]["n"] == 40
    assert query("SELECT count(*) AS n FROM ingest_journal")[0]["n"] == 0
    per_commit = [r["n"] for r in query("SELECT count(*) AS n FROM media_assets GROUP BY ingested_at")]
    assert sorted(per_commit) == [8] * 5

