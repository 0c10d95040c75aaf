"""A real Syncthing instance (Debian's ``syncthing``) on loopback only, driven through its REST API.

Every internet-facing feature is switched off in the generated config before the first start
(global and local discovery, relays, NAT, STUN, usage and crash reporting, upgrades), and the
instance listens on 127.0.0.1 only; peers are introduced with explicit ``tcp://127.0.0.1:port``
addresses.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

OFF = {
    "globalAnnounceEnabled": "false", "localAnnounceEnabled": "false", "relaysEnabled": "false",
    "natEnabled": "false", "urAccepted": "-1", "crashReportingEnabled": "false",
    "autoUpgradeIntervalH": "0", "stunKeepaliveStartS": "0", "announceLANAddresses": "false",
    "reconnectionIntervalS": "2",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SyncthingPeer:
    """One ``syncthing serve`` process with its own home, GUI/REST and sync ports on loopback."""

    def __init__(self, name: str, home: Path, log_dir: Path):
        self.name, self.home = name, home
        self.gui_port, self.sync_port = free_port(), free_port()
        self.api_key = secrets.token_hex(16)
        self.log_path = log_dir / f"syncthing-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.device_id = ""

    # -- process -----------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> SyncthingPeer:
        exe = shutil.which("syncthing")
        subprocess.run([exe, "generate", f"--home={self.home}", "--no-default-folder", "--skip-port-probing"],
                       check=True, capture_output=True)
        cfg = self.home / "config.xml"
        text = cfg.read_text()
        for key, value in OFF.items():
            text = re.sub(rf"<{key}>[^<]*</{key}>", f"<{key}>{value}</{key}>", text)
        text = text.replace("<listenAddress>default</listenAddress>",
                            f"<listenAddress>tcp://127.0.0.1:{self.sync_port}</listenAddress>")
        cfg.write_text(text)
        self.proc = subprocess.Popen(
            [exe, "serve", f"--home={self.home}", "--no-browser", "--no-restart", "--no-upgrade",
             f"--gui-address=127.0.0.1:{self.gui_port}", f"--gui-apikey={self.api_key}",
             f"--logfile={self.log_path}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.device_id = self.get("/rest/system/status")["myID"]
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"syncthing {self.name} did not start; see {self.log_path}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # -- REST --------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: object | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.gui_port}{path}", data=data, method=method,
                                     headers={"X-API-Key": self.api_key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> dict:
        return self._call("GET", path)  # type: ignore[return-value]

    def post(self, path: str, body: object | None = None) -> object:
        return self._call("POST", path, body)

    # -- configuration -------------------------------------------------------------------------
    def add_peer(self, other: SyncthingPeer) -> None:
        self._call("PUT", f"/rest/config/devices/{other.device_id}", {
            "deviceID": other.device_id, "name": other.name,
            "addresses": [f"tcp://127.0.0.1:{other.sync_port}"], "autoAcceptFolders": False,
        })

    def share_folder(self, folder_id: str, path: Path, folder_type: str, peer: SyncthingPeer,
                     rescan_s: int = 3600) -> None:
        """Share ``path`` as ``folder_id`` (``sendonly`` / ``receiveonly`` / ``sendreceive``) with ``peer``."""
        self._call("PUT", f"/rest/config/folders/{folder_id}", {
            "id": folder_id, "label": folder_id, "path": str(path), "type": folder_type,
            "devices": [{"deviceID": peer.device_id}], "rescanIntervalS": rescan_s,
            "fsWatcherEnabled": True, "fsWatcherDelayS": 1,
        })

    def limit_send_rate(self, kbps: int) -> None:
        """Throttle uploads (also on the LAN) so that a large file stays in transit for a while."""
        self._call("PATCH", "/rest/config/options", {"maxSendKbps": kbps, "limitBandwidthInLan": True})

    def scan(self, folder_id: str) -> None:
        self.post(f"/rest/db/scan?folder={folder_id}")

    def folder_status(self, folder_id: str) -> dict:
        return self.get(f"/rest/db/status?folder={folder_id}")

    def connected_to(self, other: SyncthingPeer) -> bool:
        conns = self.get("/rest/system/connections")["connections"]
        return bool(conns.get(other.device_id, {}).get("connected"))
