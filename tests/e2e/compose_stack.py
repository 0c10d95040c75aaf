"""Drive the real Docker Compose deployment for the end-to-end test.

:func:`find_engine` returns how to call compose, or why it cannot (the test is then skipped).
:class:`ComposeStack` runs ``docker compose`` (v2) or ``docker-compose`` (1.29) with the repository's
compose file plus the host-network override, a private ``.env`` and bind-mount folders under a
temporary directory, and a unique project name; ``down -v`` removes everything it created.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from processor.backup import rclone
from tests.e2e.syncthing_peer import free_port

REPO = Path(__file__).resolve().parents[2]
DOCKER_OFFLINE = REPO.parent / "shared" / "tools" / "docker-offline"
#: one image tag per checkout: stacks of other checkouts on the same engine never run our images
IMAGE_TAG = "e2e-" + hashlib.sha1(str(REPO).encode()).hexdigest()[:8]
WORKERS = ["librarian", "thumbnails", "stitch", "geocode", "backup", "service-monitor"]
#: the services `up -d` starts that keep running (migrate exits; restore is a one-off tool)
ALWAYS_UP = ["factory-db", "syncthing", *WORKERS, "dashboard"]


def _ok(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_engine() -> tuple[list[str] | None, str]:
    """``(compose command, "")`` when an engine answers, else ``(None, reason)``.

    When no engine answers and ``docker-offline`` (or ``PF_DOCKER_OFFLINE``) exists, it is run once
    to start one and to provide the base images. ``PF_E2E_COMPOSE=v1`` or ``v2`` picks the compose
    to test when both are installed.
    """
    if not _ok(["docker", "info"]):
        tool = Path(os.environ.get("PF_DOCKER_OFFLINE", DOCKER_OFFLINE))
        if not tool.is_file():
            return None, "no Docker engine answers `docker info` and docker-offline is not available"
        subprocess.run([str(tool), "all"], capture_output=True, timeout=1800)
        if not _ok(["docker", "info"]):
            return None, f"no Docker engine could be started (tried {tool.name} all)"
    wanted = os.environ.get("PF_E2E_COMPOSE", "")  # "v2", "v1" or "" (v2 when installed, else v1)
    if wanted not in ("", "v1", "v2"):
        return None, f"PF_E2E_COMPOSE={wanted!r}: use v2 (`docker compose`) or v1 (`docker-compose`)"
    if wanted != "v1" and _ok(["docker", "compose", "version"]):
        return ["docker", "compose"], ""
    if wanted != "v2" and shutil.which("docker-compose"):
        return ["docker-compose"], ""
    if wanted:
        return None, f"PF_E2E_COMPOSE={wanted}: that compose is not installed"
    return None, "neither `docker compose` nor `docker-compose` is installed"


@dataclass
class ComposeStack:
    compose: list[str]
    root: Path
    project: str = field(default_factory=lambda: f"pf-e2e-{secrets.token_hex(3)}")
    env: dict[str, str] = field(default_factory=dict)
    #: settings added to (or replacing) the defaults below, e.g. a test's stage tuning
    extra: dict[str, str] = field(default_factory=dict)
    #: "host": docker-compose.host.yml (this project's CI); "bridge": the default deployment with
    #: its published ports, plus the database's port on loopback for the test's own queries
    network: str = "host"

    def __post_init__(self) -> None:
        for name in ("inbox", "storage", "syncthing", "rclone", "backup"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_hex(16)
        dash = 8501 if _port_free(8501) else free_port()
        self.env = {
            "COMPOSE_PROJECT_NAME": self.project, "PF_IMAGE_TAG": IMAGE_TAG,
            "SERVICES_ENV_FILE": str(self.root / ".env"),
            "INBOX_PATH": str(self.root / "inbox"), "STORAGE_PATH": str(self.root / "storage"),
            "SYNCTHING_CONFIG_PATH": str(self.root / "syncthing"),
            "RCLONE_CONFIG_PATH": str(self.root / "rclone"), "BACKUP_PATH": str(self.root / "backup"),
            "PUID": "1000", "PGID": "1000", "TZ": "Europe/Berlin",
            "POSTGRES_PASSWORD": self.password, "DB_PORT": str(free_port()),
            "DASHBOARD_PORT": str(dash), "SYNCTHING_GUI_PORT": str(free_port()),
            "SYNCTHING_API_KEY": secrets.token_hex(16),
            # Health checks start Python (~0.7 CPU-s each): every 3 s in seven containers that
            # alone took 1.3 of the 2 cores, and under other load every check overran its 10 s
            # timeout, so the stack never turned healthy. Every 10 s, each allowed a minute.
            "HEALTHCHECK_INTERVAL": "10s", "HEALTHCHECK_TIMEOUT": "60s", "HEALTHCHECK_START_PERIOD": "60s",
            # stale = no beat for 6 intervals (18 s): a beat a few seconds late on a busy machine
            # is not an outage (3 intervals, 9 s, turned healthy services stale under load)
            "PF_HEARTBEAT_SECONDS": "3", "PF_LIBRARIAN_HEARTBEAT_SECONDS": "3",
            "PF_MONITOR_INTERVAL_S": "3", "PF_STALE_FACTOR": "6",
            "PF_STABILITY_SECONDS": "2", "PF_RESCAN_SECONDS": "10",
            "PF_BACKUP_REMOTE": "e2e-crypt:photos", "PF_BACKUP_IDLE_SECONDS": "3",
            "PF_BACKUP_VERIFY": "sha256", "PF_SYNCTHING_FOLDER": "",
            **self.extra,
        }
        if self.network == "bridge":
            self.env.update(SYNCTHING_SYNC_PORT=str(free_port()), DASHBOARD_BIND="127.0.0.1")
            (self.root / "db-port.yml").write_text(
                'services:\n  factory-db:\n    ports: ["127.0.0.1:${DB_PORT}:5432"]\n')
        self._write_rclone_config()
        (self.root / ".env").write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))

    def _write_rclone_config(self) -> None:
        obscured = rclone.obscure("rclone", secrets.token_hex(12))  # by stdin, never in argv
        (self.root / "rclone" / "rclone.conf").write_text(
            "[e2e-crypt]\ntype = crypt\nremote = /data/backup/remote\n"
            f"password = {obscured}\nfilename_encryption = standard\n")

    # -- compose --------------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgresql://photo_factory:{self.password}@127.0.0.1:{self.env['DB_PORT']}/photo_factory"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DASHBOARD_PORT']}"

    @property
    def files(self) -> list[Path]:
        """The compose files, as ``COMPOSE_FILE`` in the user's ``.env`` would name them."""
        if self.network == "bridge":
            return [REPO / "docker-compose.yml", REPO / "docker-compose.ports.yml", self.root / "db-port.yml"]
        return [REPO / "docker-compose.yml", REPO / "docker-compose.host.yml"]

    def build(self) -> None:
        """Build the images; always with the host override, whose builds may use the host network."""
        self.run("build", timeout=3600, files=[REPO / "docker-compose.yml", REPO / "docker-compose.host.yml"])

    def run(self, *args: str, timeout: float = 600, check: bool = True,
            files: list[Path] | None = None) -> subprocess.CompletedProcess:
        cmd = [*self.compose, *(a for f in files or self.files for a in ("-f", str(f))),
               "--env-file", str(self.root / ".env"), "-p", self.project, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env={**os.environ, "COMPOSE_PROJECT_NAME": self.project})
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                                 f"{proc.stderr[-3000:]}")
        return proc

    def containers(self) -> dict[str, list[dict]]:
        """Service name -> the ``docker inspect`` state of each of its containers."""
        # -a: compose v2's `ps` lists running containers only (1.29's lists exited ones too)
        ids = self.run("ps", "-a", "-q").stdout.split()
        if not ids:
            return {}
        out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout
        services: dict[str, list[dict]] = {}
        for c in json.loads(out):
            labels = c["Config"]["Labels"]
            if labels.get("com.docker.compose.oneoff") == "True":  # `run` containers are not the service's
                continue
            services.setdefault(labels["com.docker.compose.service"], []).append(c["State"])
        return services

    def unhealthy(self, services: list[str], *, health: bool = True) -> dict[str, str]:
        """Services (of ``services``) not yet running (and healthy, with ``health``), with their state."""
        states = self.containers()
        bad = {}
        for name in services:
            for st in states.get(name, [{"Status": "missing"}]):
                status = st.get("Health", {}).get("Status", "none")
                if st.get("Status") != "running" or (health and status not in ("healthy", "none")):
                    bad[name] = f"{st.get('Status')}/{status}"
        return bad

    def up_until_healthy(self, services: list[str], *, limit_s: float = 300, health: bool = True) -> float:
        """``up -d`` and wait until ``services`` are running (and healthy, with ``health``); return the seconds."""
        from tests.e2e.conftest import wait_until

        started = time.monotonic()
        up = self.run("up", "-d", timeout=600, check=False)
        assert up.returncode == 0, f"up -d failed:\n{up.stderr[-2000:]}\n{self.logs()}"
        wait_until("every service to be healthy" if health else "every service to run",
                   lambda: not self.unhealthy(services, health=health), limit_s=limit_s, every_s=2,
                   on_timeout=lambda: f"{self.unhealthy(services, health=health)}\n{self.logs()}")
        return time.monotonic() - started

    # -- the user's shell ------------------------------------------------------------------------
    def user_env(self) -> dict[str, str]:
        """The environment of a user's shell in the checkout whose ``.env`` is this stack's.

        Compose reads the same settings from the environment as from ``.env``; ``COMPOSE_FILE``
        names the compose files exactly as the README's set-up does.
        """
        files = ":".join(str(f) for f in self.files)
        return {**os.environ, **self.env, "COMPOSE_FILE": files, "COMPOSE_PROJECT_NAME": self.project}

    def user_command(self, command: str, *, timeout: float = 600, stdin: str = "") -> subprocess.CompletedProcess:
        """Run a README command verbatim with bash in the checkout, as the user would.

        With only docker-compose 1.29 installed, ``docker compose`` runs ``docker-compose`` (the
        README says to write it so); the command text itself is never changed.
        """
        prelude = ""
        if self.compose == ["docker-compose"]:
            prelude = ('docker() { if [ "$1" = compose ]; then shift; command docker-compose "$@"; '
                       'else command docker "$@"; fi; }\n')
        return subprocess.run(["bash", "-c", prelude + command], cwd=REPO, env=self.user_env(),
                              capture_output=True, text=True, timeout=timeout, input=stdin)

    def heartbeats(self) -> dict[str, str]:
        """Service -> status of its row in ``system_status`` (empty while the schema is not there)."""
        from tests.e2e.conftest import rows

        try:
            return {r["service"]: r["status"] for r in rows(self.database_url,
                                                            "SELECT service, status FROM system_status")}
        except Exception:  # noqa: BLE001 - the database is starting, or migrate has not run yet
            return {}

    def not_beating(self, services: list[str]) -> dict[str, str]:
        """Services (of ``services``) whose heartbeat is missing or not ok/degraded, with their status."""
        beats = self.heartbeats()
        return {s: beats.get(s, "missing") for s in services if beats.get(s) not in ("ok", "degraded")}

    def logs(self, tail: int = 40) -> str:
        return self.run("logs", "--no-color", "--tail", str(tail), check=False, timeout=60).stdout[-20000:]

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", "-t", "20", check=False, timeout=300)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def built_and_up(root: Path, up: Callable[[ComposeStack], float], label: str = "e2e", *,
                 extra: dict[str, str] | None = None, network: str = "host") -> Iterator[ComposeStack]:
    """A stack under ``root``: built, started by ``up`` (which returns the seconds it took), torn
    down afterwards (kept with ``PF_E2E_KEEP=1``). Skips the test when no engine can be had."""
    compose, reason = find_engine()
    if compose is None:
        pytest.skip(reason)
    stack = ComposeStack(compose, root, extra=extra or {}, network=network)
    started = time.monotonic()
    stack.build()
    print(f"\n[{label}] {' '.join(compose)}: build {time.monotonic() - started:.0f}s")
    try:
        print(f"[{label}] up -d: {up(stack):.0f}s")
        yield stack
    finally:
        if os.environ.get("PF_E2E_KEEP") != "1":
            stack.down()
