"""Settings read once from the environment, validated, and passed down as frozen objects.

Every service gets the :class:`CoreSettings` plus its own settings class (defined in the
service's package, with its own ``PF_…`` variables). Secrets may come from ``<NAME>_FILE``
(the Docker secrets convention): ``PF_DATABASE_URL_FILE=/run/secrets/db_url``.
"""

from __future__ import annotations

import os
import select
import stat
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    PositiveFloat,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from photo_factory import folders


class SettingsError(Exception):
    """A configuration variable is missing or malformed; the message names the variable."""


_YEAR = 365 * 86400
#: The longest duration a setting may give: every timed wait (threading.TIMEOUT_MAX, time_t) and
#: PostgreSQL interval holds it.
MAX_DURATION_S = 10 * _YEAR
_DURATION_UNITS = {"_seconds": 1, "_s": 1, "_hours": 3600}


class PFSettings(BaseModel):
    """Base for every settings class: each field is read from the variable ``PF_<FIELD>`` (in any
    case; keyword arguments win), validated by pydantic, frozen; unknown variables are ignored.

    Not pydantic-settings' ``BaseSettings`` (ADR-063): we use one prefix and plain values, and
    importing that package (its dotenv, CLI, cloud-secret sources, asyncio, ssl, email) took
    ~0.2 s of every command's start, a third of a ``librarian --once`` run's fixed cost."""

    # no setting is infinite or not a number: `PF_HEARTBEAT_SECONDS=inf` passed, then every beat
    # failed in PostgreSQL ("interval out of range") and the service died with a traceback
    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True, allow_inf_nan=False)
    env_prefix: ClassVar[str] = "PF_"

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self)), **values})

    @field_validator("*")
    @classmethod
    def _usable(cls, v: Any, info: ValidationInfo) -> Any:
        """Rules for every setting of every service, so that a value that passes works:

        - one named ``…_seconds``, ``…_s`` or ``…_hours`` is a duration from 0 to
          :data:`MAX_DURATION_S`: a negative lease or poll made a thread wait 0 s, a hot loop on
          the database; ``1e300`` overflowed every timed wait ("timestamp out of range for
          platform time_t") after the service had started;
        - a text (``str``) setting is UTF-8 text: bytes that are not (a .env or secret file in
          Latin-1) reach os.environ as surrogates, and the URL's first connection, the
          dashboard's password check, the Syncthing key's header failed with a traceback. A
          ``Path`` setting may hold any bytes, as file names do."""
        unit = next((u for suffix, u in _DURATION_UNITS.items() if (info.field_name or "").endswith(suffix)), None)
        if unit is not None and isinstance(v, int | float) and not 0 <= v * unit <= MAX_DURATION_S:
            raise ValueError(f"a duration from 0 to {MAX_DURATION_S // _YEAR} years")
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("holds bytes that are not UTF-8 text (a file saved in another encoding?)") from None
        return v


def _from_environment(cls: type[PFSettings]) -> dict[str, str | None]:
    """The raw values of ``cls``'s fields found in the environment (names compared without case,
    an exact upper-case name first), left to pydantic to parse; an empty value of a setting that
    may be unset (``X | None``) unsets it. A field's value may come from the file named by
    ``PF_<FIELD>_FILE`` (a Docker secret) when ``PF_<FIELD>`` is not set or empty; it is never copied into
    the environment, so the tools we start do not inherit it."""
    by_lower: dict[str, str] = {}
    for key, raw in os.environ.items():
        by_lower.setdefault(key.lower(), raw)

    def lookup(var: str) -> str | None:
        return os.environ.get(var.upper(), by_lower.get(var.lower()))

    out: dict[str, str | None] = {}
    for name, field in cls.model_fields.items():
        var = f"{cls.env_prefix}{name}"
        found = lookup(var)
        # an empty PF_X_FILE= (a .env line left empty) names no file; an empty PF_X beside a
        # PF_X_FILE (compose's `PF_X: ${PF_X:-}`) leaves the secret to the file
        secret = lookup(f"{var}_FILE") if not found else None
        if secret:  # only for a setting of this class: PF_GEOCODE_CITIES_FILE is a
            # setting, not the secret of a PF_GEOCODE_CITIES (that read a 9 MB file into the
            # environment, and every tool started after it failed: "Argument list too long")
            found = read_secret(f"{var.upper()}_FILE", secret)
        if found == "" and type(None) in get_args(field.annotation):
            out[name] = None  # `PF_GEOCODE_CITIES_FILE=` in a .env: not set (was "cannot read ''")
        elif found is not None:
            out[name] = found
    return out


#: A secret larger than this is not one (the kernel's limit for one environment string, so
#: anything a ``PF_X`` variable can hold fits): ``PF_X_FILE`` names the wrong file (a data dump,
#: /dev/zero), and reading it whole would take the service's memory.
SECRET_MAX_BYTES = 128 * 1024
#: How long a secret from a pipe or FIFO may take to arrive; a FIFO that no program writes to is
#: refused after this, instead of blocking the service's start forever. (A pipe is read once: a
#: command that starts other photo-factory processes, the dashboard, make run, needs a file.)
SECRET_PIPE_WAIT_S = 10.0


def read_secret(var: str, name: str) -> str:
    """The value in the file ``name`` (``var`` names it in messages), without surrounding white
    space, decoded as the environment is (undecodable bytes kept as surrogates, as in os.environ).
    Bounded in size and in time: a FIFO without a writer, a device or a huge file is refused
    with a :class:`SettingsError`, never waited for or read into memory."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO's open must not block
    except OSError as exc:
        raise SettingsError(f"{var}: cannot read {name}: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SettingsError(f"{var}: cannot read {name}: Is a directory")
        data = _read_bounded(fd, var, name, stream=not stat.S_ISREG(mode))
    except OSError as exc:
        raise SettingsError(f"{var}: cannot read {name}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if len(data) > SECRET_MAX_BYTES:
        raise SettingsError(f"{var}: {name} holds more than {SECRET_MAX_BYTES // 1024} KB: not a secret "
                            "(does it name the right file?)")
    return data.decode(sys.getfilesystemencoding(), "surrogateescape").strip()


def _read_bounded(fd: int, var: str, name: str, *, stream: bool) -> bytes:
    """At most SECRET_MAX_BYTES + 1 bytes up to the end of ``fd``. A ``stream`` (pipe, FIFO,
    device) is given at most SECRET_PIPE_WAIT_S for its data: a FIFO that never had a writer
    reads as "no data yet", not as its end."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + SECRET_PIPE_WAIT_S
    chunks: list[bytes] = []
    size = 0
    while size <= SECRET_MAX_BYTES:
        if stream and not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            raise SettingsError(f"{var}: nothing to read from {name} within {SECRET_PIPE_WAIT_S:g} s "
                                "(a FIFO no program writes to?)")
        try:
            chunk = os.read(fd, SECRET_MAX_BYTES + 1 - size)
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _default_tz() -> str:
    return os.environ.get("TZ") or "UTC"


class CoreSettings(PFSettings):
    database_url: str = "postgresql:///photo_factory"
    inbox_dir: Path = Path("var/inbox")
    storage_dir: Path = Path("var/storage")
    #: IANA zone used when a file carries no timezone of its own.
    timezone: str = ""
    heartbeat_seconds: PositiveFloat = 60.0
    log_level: str = "INFO"
    #: How long a --once run waits for an unreachable database before giving up (exit 1).
    db_wait_seconds: PositiveFloat = 30.0
    #: A unit of work with no progress for this long makes the service beat ``error`` ("stuck").
    stuck_seconds: PositiveFloat = 900.0
    #: The backup destination (the backup command's setting), read here too so that every
    #: command refuses a local backup folder that overlaps the inbox or the storage.
    backup_remote: str = ""

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        v = v or _default_tz()
        if v.startswith(":"):  # TZ=:/etc/localtime style
            v = "UTC"
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _disjoint_folders(self) -> CoreSettings:
        """The inbox, the storage and a local backup folder must be pairwise disjoint (compared
        as resolved real paths): a storage inside the inbox is taken for new files and its
        library removed as duplicates of itself."""
        named: dict[str, Path] = {"PF_INBOX_DIR": self.inbox_dir, "PF_STORAGE_DIR": self.storage_dir}
        backup = folders.local_rclone_path(self.backup_remote)
        if backup is not None:
            named["PF_BACKUP_REMOTE"] = backup
        problem = folders.overlap_problem(named)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def library_dir(self) -> Path:
        return self.storage_dir / "Library"

    @property
    def derivatives_dir(self) -> Path:
        return self.storage_dir / "Derivatives"

    @property
    def quarantine_dir(self) -> Path:
        return self.storage_dir / "Quarantine"


S = TypeVar("S", bound=PFSettings)
#: A bad value of a variable so named is not repeated in the message (it may be, or hold, a secret:
#: a password, an API key, rclone flags or a connection-string remote with credentials).
_NOT_SHOWN = ("URL", "PASSWORD", "KEY", "FLAGS", "REMOTE")


def load(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment, raising :class:`SettingsError` naming the bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = cls.env_prefix
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a rule over several variables: its message names them
                problems.append(str(err["msg"]).removeprefix("Value error, "))
                continue
            field = ".".join(str(p) for p in err["loc"])
            var = f"{prefix}{field}".upper()
            raw = os.environ.get(var)
            shown = f" (got {raw!r})" if raw is not None and not any(w in var for w in _NOT_SHOWN) else ""
            problems.append(f"{var}: {err['msg']}{shown}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
