"""A phone's Syncthing "Send Only" folder shared with the server's "Receive Only" inbox.

Two real Syncthing processes (Debian's package) on loopback: the "phone" sends a large photo
slowly (rate-limited), so that it sits in the inbox as a Syncthing temporary file for a while;
the librarian, running as a watcher with a short quiet period, must never take it in transit and
must file it whole once Syncthing renames it into place. The phone keeps its copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import library_file, rows, wait_until
from tests.e2e.syncthing_peer import SyncthingPeer
from tests.support.deploy_samples import make_album, make_photo

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("syncthing") is None, reason="Debian's syncthing package is not installed"),
    pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed"),
]

FOLDER = "phone-camera"


@pytest.fixture
def peers(tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    phone = SyncthingPeer("phone", tmp_path / "st-phone", logs)
    server = SyncthingPeer("server", tmp_path / "st-server", logs)
    try:
        yield phone.start(), server.start()
    finally:
        phone.stop()
        server.stop()


def _librarian(pf_env: dict[str, str], log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("photo-factory")
    env = {**pf_env, "PF_STABILITY_SECONDS": "0.5", "PF_RESCAN_SECONDS": "1", "PF_POLL_SECONDS": "0.2"}
    return subprocess.Popen([str(exe), "librarian"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def test_large_files_from_a_phone_are_ingested_whole_and_never_while_in_transit(
    peers: tuple[SyncthingPeer, SyncthingPeer], pf_env: dict[str, str], storage: dict[str, Path],
    database_url: str, tmp_path: Path,
) -> None:
    phone, server = peers
    camera = tmp_path / "phone-DCIM"
    camera.mkdir()
    inbox = storage["inbox"]
    phone.add_peer(server)
    server.add_peer(phone)
    phone.share_folder(FOLDER, camera, "sendonly", server)
    server.share_folder(FOLDER, inbox, "receiveonly", phone)
    wait_until("the two Syncthing instances to connect", lambda: phone.connected_to(server), limit_s=60)
    phone.limit_send_rate(2000)  # KiB/s: a 14 MB photo stays in transit for several seconds

    log = tmp_path / "librarian.log"
    librarian = _librarian(pf_env, log)
    try:
        staging = tmp_path / "staging"
        samples = make_album(staging, 2, prefix="PXL")
        samples.append(make_photo(staging / "PXL_BIG.jpg", datetime(2023, 7, 14, 12, 0), 48.8584, 2.2945,
                                  size=(4000, 3000), noise=True, seed=9))
        for sample in samples:  # the camera app finishes each photo, then it appears in DCIM
            os.rename(sample.path, camera / sample.path.name)
        phone.scan(FOLDER)

        seen_in_transit: set[str] = set()

        def filed() -> int:
            seen_in_transit.update(p.name for p in inbox.iterdir() if ".syncthing." in p.name)
            n = rows(database_url, "SELECT count(*) AS n FROM media_assets")[0]["n"]
            return n if n >= len(samples) else 0

        wait_until("every photo to be filed", filed, limit_s=240, every_s=0.2,
                   on_timeout=lambda: log.read_text()[-3000:])
    finally:
        librarian.send_signal(signal.SIGTERM)
        librarian.wait(timeout=60)

    assets = {r["sha256"]: r for r in rows(database_url, "SELECT sha256, library_path, size_bytes FROM media_assets")}
    assert seen_in_transit, "the large photo was never observed in transit: the test proved nothing"
    for sample in samples:
        asset = assets[sample.sha256]  # the very bytes the phone took
        assert library_file(storage["storage"], asset["library_path"]).stat().st_size == asset["size_bytes"]
    assert len(assets) == len(samples)
    assert rows(database_url, "SELECT reason, source_path FROM quarantine") == []
    assert not any(".syncthing." in r["source_path"] or "~syncthing~" in r["source_path"]
                   for r in rows(database_url, "SELECT coalesce(source_path, '') AS source_path FROM ingest_events"))

    # The phone keeps its copy: the server's deletions stay local to a Receive Only folder.
    server.scan(FOLDER)
    def local_changes() -> int:
        status = server.folder_status(FOLDER)
        return sum(v for k, v in status.items() if k.startswith("receiveOnlyChanged") and isinstance(v, int))

    wait_until("the server to notice its local deletions", lambda: local_changes() >= len(samples), limit_s=60,
               on_timeout=lambda: repr(server.folder_status(FOLDER)))
    assert sorted(p.name for p in camera.iterdir() if not p.name.startswith(".st")) == sorted(
        s.path.name for s in samples)
