"""A private PostgreSQL cluster for ``make run`` and the test suite (no Docker needed).

PostgreSQL refuses to run as root, so when we are root the cluster is initialised and run
as the ``postgres`` system user (which Debian's package creates). The cluster listens on
loopback only, with trust authentication for local connections, and is reused when it is
already running (several test sessions may share it; a file lock serialises start-up).
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path


def _bindir() -> Path:
    for cand in [os.environ.get("PF_PG_BINDIR", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if cand and Path(cand, "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql")


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


def ensure_cluster(datadir: Path, port: int, extra_opts: str = "") -> str:
    """Start (initialising if needed) a cluster in ``datadir`` on ``127.0.0.1:port``; return its URL.
    ``extra_opts``: more ``-c name=value`` server options (a benchmark's own cluster loads
    ``pg_stat_statements``); a cluster already running keeps the options it was started with."""
    datadir = datadir.absolute()
    owner = "postgres" if os.geteuid() == 0 else None
    datadir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = datadir.parent / f".{datadir.name}.lock"
    bindir = _bindir()
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        user = owner or pwd.getpwuid(os.geteuid()).pw_name
        url = f"postgresql://{user}@127.0.0.1:{port}/postgres"
        if _ready(bindir, port):
            return url
        if not (datadir / "PG_VERSION").exists():
            datadir.mkdir(parents=True, exist_ok=True)
            if owner:
                shutil.chown(datadir, owner, owner)
            subprocess.run(
                _as_owner([str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-E", "UTF8",
                           "--no-locale", "-U", user], owner),
                check=True, stdout=subprocess.DEVNULL, timeout=300,
            )
        sockdir = datadir / "run"
        sockdir.mkdir(exist_ok=True)
        if owner:
            shutil.chown(sockdir, owner, owner)
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockdir}"
                " -c fsync=on -c max_connections=200 -c shared_buffers=64MB" + (f" {extra_opts}" if extra_opts else ""))
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l",
                       str(datadir / "server.log"), "-w", "-t", "60", "start"], owner),
            check=True, stdout=subprocess.DEVNULL, timeout=120,
        )
        for _ in range(100):
            if _ready(bindir, port):
                return url
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL in {datadir} did not become ready; see server.log there")


def stop_cluster(datadir: Path) -> None:
    owner = "postgres" if os.geteuid() == 0 else None
    if (datadir / "postmaster.pid").exists():
        subprocess.run(_as_owner([str(_bindir() / "pg_ctl"), "-D", str(datadir.absolute()), "-m", "fast",
                                  "-w", "-t", "60", "stop"], owner), check=False, stdout=subprocess.DEVNULL,
                       timeout=120)


def _ready(bindir: Path, port: int) -> bool:
    exe = bindir / "pg_isready"
    if not exe.exists():
        exe = Path(shutil.which("pg_isready") or "pg_isready")
    try:
        return subprocess.run([str(exe), "-q", "-t", "5", "-h", "127.0.0.1", "-p", str(port)], check=False,
                              timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False
