"""``make run``: the whole pipeline on this machine, no Docker.

Starts a private PostgreSQL cluster under ``var/pg`` when ``PF_DATABASE_URL`` is not set
(as the ``postgres`` user when run as root), applies migrations, then runs every service as a
child process under this small supervisor, with inbox and storage under ``var/``; each child's
output also goes to ``var/logs/<service>.log`` (the dashboard's Service page shows it). A child that
dies is restarted with backoff; Ctrl-C (or SIGTERM) stops them all cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from photo_factory import localpg, proclog, runenv

#: (name, argv after ``photo-factory``). Each service adds its line when it is built.
SERVICES: list[tuple[str, list[str]]] = [
    ("librarian", ["librarian"]),
    ("backup", ["backup"]),
    ("service-monitor", ["monitor"]),
    # loopback unless PF_DASHBOARD_ADDRESS says otherwise (no password by default)
    ("dashboard", ["dashboard", "--port", os.environ.get("PF_DASHBOARD_PORT", "8501"),
                   "--address", os.environ.get("PF_DASHBOARD_ADDRESS", "127.0.0.1")]),
    ("stitch", ["stitch"]),
    ("geocode", ["geocode"]),
    ("thumbnails", ["thumbnails"]),
]

VAR = Path(os.environ.get("PF_VAR_DIR", "var")).absolute()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # a database given in any case, or as a secret file, is the one to use: its children read it
    # as every service does (a private cluster's PF_DATABASE_URL would win over it)
    if not runenv.given("PF_DATABASE_URL", env):
        datadir = VAR / "pg"
        try:
            url = localpg.ensure_cluster(datadir, int(env.get("PF_RUN_PG_PORT", "54330")))
        except (PermissionError, subprocess.CalledProcessError):
            # the postgres user may not be able to enter this folder: use a temporary one
            import tempfile

            url = localpg.ensure_cluster(Path(tempfile.gettempdir()) / "photo-factory-run-pg", 54330)
        admin = url
        dbname = "photo_factory"
        import psycopg2

        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{dbname}"')
        conn.close()
        env["PF_DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + dbname
    for key, default in (("PF_INBOX_DIR", VAR / "inbox"), ("PF_STORAGE_DIR", VAR / "storage")):
        if runenv.lookup(env, key) is None and runenv.lookup(env, f"{key}_FILE") is None:
            env[key] = str(default)
        folder = runenv.lookup(env, key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
    return env


def _shown(env: dict[str, str], key: str) -> str:
    """``key``'s value for the console, or where it comes from (a secret file is not printed;
    a database URL's password is masked)."""
    value = runenv.lookup(env, key)
    if value:
        return masked(value)
    secret = runenv.lookup(env, f"{key}_FILE")
    return f"from {key}_FILE ({secret})" if secret else "(default)"


def masked(dsn: str) -> str:
    """A connection string with its password replaced by ``***`` (URL or ``key=value`` form,
    the ``password`` query parameter too): the console and its log keep no secret."""
    import re
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in dsn:  # libpq's key=value form: a value is quoted or runs to the next space
        return re.sub(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", dsn)
    dsn = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", dsn)
    try:
        parts = urlsplit(dsn)
        if parts.password is not None:
            user = parts.netloc.rpartition("@")[0].partition(":")[0]
            return urlunsplit(parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}"))
    except ValueError:  # not a URL we can parse (an IPv6 host typo): show nothing of it
        return "(a connection string that could not be parsed; not shown)"
    return dsn


def print_env() -> int:
    """``--print-env``: the database and folders make run uses, as shell assignments.

    ``scripts/restore.sh`` evals them to restore into make run's own targets (the private
    database is started, and created empty, when needed).
    """
    import shlex

    env = _env()
    for key in ("PF_DATABASE_URL", "PF_DATABASE_URL_FILE", "PF_INBOX_DIR", "PF_STORAGE_DIR"):
        value = runenv.lookup(env, key)
        if value and not (key == "PF_DATABASE_URL_FILE" and runenv.lookup(env, "PF_DATABASE_URL")):
            print(f"{key}={shlex.quote(value)}")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--print-env"]:
        return print_env()
    env = _env()
    exe = str(Path(sys.executable).with_name("photo-factory"))
    written = runenv.write(VAR / runenv.NAME, env)
    print(f"photo-factory: database {_shown(env, 'PF_DATABASE_URL')} (written to {written}: `photo-factory "
          f"status` from another shell in this folder finds it)", flush=True)
    print(f"photo-factory: inbox {_shown(env, 'PF_INBOX_DIR')}  storage {_shown(env, 'PF_STORAGE_DIR')}",
          flush=True)
    try:
        if subprocess.run([exe, "migrate"], env=env, timeout=600).returncode != 0:
            return 1
    except subprocess.TimeoutExpired:
        print("photo-factory: migrate did not finish within 10 minutes", flush=True)
        return 1
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    procs: dict[str, subprocess.Popen] = {}
    restarts: dict[str, float] = {}
    backoff: dict[str, float] = {}

    def start(name: str, argv: list[str]) -> None:
        # own process group: a terminal Ctrl-C reaches the supervisor only, which then stops
        # the children in order with SIGTERM
        procs[name] = subprocess.Popen([exe, *argv], env=env, start_new_session=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        proclog.tee(procs[name].stdout, name, VAR / "logs")  # type: ignore[arg-type]
        print(f"photo-factory: started {name} (pid {procs[name].pid})", flush=True)

    for name, argv in SERVICES:
        start(name, argv)
    print("photo-factory: running; drop files into the inbox; Ctrl-C stops everything", flush=True)
    while not stopping:
        time.sleep(0.5)
        for name, argv in SERVICES:
            proc = procs[name]
            if proc.poll() is None:
                continue
            now = time.monotonic()
            if now < restarts.get(name, 0):
                continue
            delay = min(backoff.get(name, 1.0) * 2, 60.0)
            backoff[name] = delay
            restarts[name] = now + delay
            print(f"photo-factory: {name} exited with {proc.returncode}; restarting in {delay:.0f}s",
                  flush=True)
            start(name, argv)
    print("photo-factory: stopping services", flush=True)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("photo-factory: stopped (the private database keeps running; `make stop-pg` stops it)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
