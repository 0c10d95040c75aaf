"""``var/photo-factory.env``: where ``make run`` says which database and folders it uses, so that
``photo-factory status`` (or any command) from a second shell finds them.

``make run`` writes it (``KEY=value`` lines, shell-quoted, mode 0600: the URL may hold a
password); the CLI reads it when ``PF_DATABASE_URL`` is not set, from ``$PF_ENV_FILE``, else
``./var/photo-factory.env``, and says on stderr where it read it (stdout stays the command's).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

NAME = "photo-factory.env"
KEYS = ("PF_DATABASE_URL", "PF_INBOX_DIR", "PF_STORAGE_DIR")


def write(path: Path, env: dict[str, str]) -> Path:
    """Write the database and folders of ``env`` to ``path`` (atomically, 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# written by `make run`: the database and folders it uses (read by photo-factory)\n")
        for key in KEYS:
            if env.get(key):
                fh.write(f"{key}={shlex.quote(env[key])}\n")
    os.replace(tmp, path)
    return path


def parse(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key.strip().startswith("PF_"):
            words = shlex.split(value)
            out[key.strip()] = words[0] if words else ""
    return out


def candidate() -> Path:
    return Path(os.environ.get("PF_ENV_FILE") or Path("var") / NAME)


def load_if_unset(quiet: bool = False) -> Path | None:
    """Without PF_DATABASE_URL(_FILE), take make run's settings (never overriding a set variable)."""
    if os.environ.get("PF_DATABASE_URL") or os.environ.get("PF_DATABASE_URL_FILE"):
        return None
    path = candidate()
    try:
        values = parse(path.read_text())
    except OSError:
        return None
    for key, value in values.items():
        os.environ.setdefault(key, value)
    if not quiet:
        print(f"photo-factory: using the settings of `make run` from {path}", file=sys.stderr)
    return path
