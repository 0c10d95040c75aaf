"""A file is taken when its quiet period ends, not up to a poll interval later: the librarian
sleeps until the earliest waiting file can have settled (an inbox event still wakes it sooner)."""

from __future__ import annotations

import threading
import time

import pytest

from librarian.service import Librarian
from librarian.settings import LibrarianSettings
from photo_factory import loop, settings
from tests.support import samples

pytestmark = pytest.mark.integration


def test_a_settling_file_is_taken_when_it_settles_not_at_the_next_poll(pf_env, storage):
    photo = samples.photo(storage["inbox"] / "IMG_1.JPG", seed=1)  # there before start: no event
    core = settings.load(settings.CoreSettings)
    cfg = settings.load(LibrarianSettings, stability_seconds=0.5, poll_seconds=600.0)
    lib = Librarian(core, cfg)
    lib.start()
    runner = threading.Thread(target=loop.run, args=(lib.work_once,),
                              kwargs={"stopper": lib.stopper, "heartbeat": None, "idle_seconds": cfg.poll_seconds})
    runner.start()
    try:
        filed = storage["storage"] / "Library/2024/2024-01-31/IMG_1.JPG"
        deadline = time.monotonic() + 60  # generous; the old loop slept the whole 600 s poll
        while not filed.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert filed.exists() and not photo.exists()
    finally:
        lib.stopper.stop.set()
        lib.stopper.wake.set()
        runner.join(30)
        lib.close()
