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
from collections.abc import Mapping
from pathlib import Path

NAME = "photo-factory.env"
KEYS = ("PF_DATABASE_URL", "PF_INBOX_DIR", "PF_STORAGE_DIR")
#: Also written: the database URL may come from a file (a secret) instead of PF_DATABASE_URL.
_SECRET = "PF_DATABASE_URL_FILE"


def lookup(env: Mapping[str, str], var: str) -> str | None:
    """``var``'s value in ``env`` as the settings find it (photo_factory/settings.py): the
    upper-case name first, else any other case."""
    if var.upper() in env:
        return env[var.upper()]
    return next((v for k, v in env.items() if k.lower() == var.lower()), None)


def given(var: str, env: Mapping[str, str] | None = None) -> bool:
    """``var`` or its secret ``var_FILE`` is set, not empty, in any case: the settings will use it,
    so make run's value must not replace it."""
    env = os.environ if env is None else env
    return bool(lookup(env, var) or lookup(env, f"{var}_FILE"))


def write(path: Path, env: dict[str, str]) -> Path:
    """Write the database and folders of ``env`` to ``path`` (atomically, 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# written by `make run`: the database and folders it uses (read by photo-factory)\n")
        for key in (*KEYS, _SECRET):
            value = lookup(env, key)
            if value and not (key == _SECRET and lookup(env, KEYS[0])):
                if key == _SECRET:  # read from another folder too
                    value = str(Path(value).absolute())
                fh.write(f"{key}={shlex.quote(value)}\n")
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
            try:
                words = shlex.split(value)
            except ValueError:  # a line edited by hand ("No closing quotation"): not ours to guess
                continue
            out[key.strip()] = words[0] if words else ""
    return out


def candidate() -> Path:
    return Path(os.environ.get("PF_ENV_FILE") or Path("var") / NAME)


def load_if_unset(quiet: bool = False) -> Path | None:
    """Without PF_DATABASE_URL(_FILE), in any case, take make run's settings (never overriding a
    variable set in any case, or its ``_FILE``: the upper-case name would win over it)."""
    if given("PF_DATABASE_URL"):
        return None
    path = candidate()
    if not path.exists():
        return None
    from photo_factory.settings import SettingsError, read_secret

    try:  # bounded like a secret: PF_ENV_FILE naming a FIFO or /dev/zero must not stop every command
        values = parse(read_secret("PF_ENV_FILE", str(path)))
    except SettingsError as exc:
        print(f"photo-factory: not using make run's settings: {exc}", file=sys.stderr)
        return None
    for key, value in values.items():
        if lookup(os.environ, key) is None and lookup(os.environ, f"{key}_FILE") is None:
            os.environ[key] = value
    if not quiet:
        print(f"photo-factory: using the settings of `make run` from {path}", file=sys.stderr)
    return path
