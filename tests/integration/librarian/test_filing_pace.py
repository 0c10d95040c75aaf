"""A burst is filed at the pace of its reading and hashing: the librarian's filing thread does not
wait three times per 8 files for the disk when it is behind, and its waits overlap the planning
of the next chunks (librarian/ingest.py, issue 15)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import librarian.ingest as filing
from tests.integration.librarian.conftest import files
from tests.support import samples

pytestmark = pytest.mark.integration


def test_chunks_planned_while_one_is_filed_are_filed_together_after_it(storage, ingest, query, monkeypatch):
    """The first chunk alone (the stage workers get assets at once); the chunks planned while it
    is being filed (the filing thread is the one behind: here it is held until all are planned)
    join the next filing: one journal commit, one round of folder fsyncs and one record commit
    for up to 64."""
    inbox: Path = storage["inbox"]
    for i in range(40):
        samples.image(inbox / f"IMG_{i:03d}.jpg", "JPEG", seed=i)
    all_planned = threading.Event()
    added: list[int] = []
    real_add = filing._Filer.add

    def add(self, planned):
        added.append(len(planned))
        if len(added) == 5:
            all_planned.set()
        return real_add(self, planned)

    sizes: list[int] = []
    real = filing.Ingestor._file_planned

    def spy(self, planned):
        sizes.append(len(planned))
        if len(sizes) == 1:
            assert all_planned.wait(60), "the batch's other chunks were not planned during its first filing"
        return real(self, planned)

    monkeypatch.setattr(filing._Filer, "add", add)
    monkeypatch.setattr(filing.Ingestor, "_file_planned", spy)
    ingest()
    assert sizes == [8, 32]
    assert files(inbox) == [] and len(files(storage["storage"] / "Library")) == 40
    assert query("SELECT count(*) AS n FROM media_assets")[0]["n"] == 40
    assert query("SELECT count(*) AS n FROM ingest_journal")[0]["n"] == 0
    per_commit = [r["n"] for r in query("SELECT count(*) AS n FROM media_assets GROUP BY ingested_at")]
    assert sorted(per_commit) == [8, 32]
