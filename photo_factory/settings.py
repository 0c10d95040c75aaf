"""Settings read once from the environment, validated, and passed down as frozen objects.

Every service gets the :class:`CoreSettings` plus its own settings class (defined in the
service's package, with its own ``PF_…`` variables). Secrets may come from ``<NAME>_FILE``
(the Docker secrets convention): ``PF_DATABASE_URL_FILE=/run/secrets/db_url``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, PositiveFloat, ValidationError, field_validator, model_validator

from photo_factory import folders


class SettingsError(Exception):
    """A configuration variable is missing or malformed; the message names the variable."""


class PFSettings(BaseModel):
    """Base for every settings class: each field is read from the variable ``PF_<FIELD>`` (in any
    case; keyword arguments win), validated by pydantic, frozen; unknown variables are ignored.

    Not pydantic-settings' ``BaseSettings`` (ADR-063): we use one prefix and plain values, and
    importing that package (its dotenv, CLI, cloud-secret sources, asyncio, ssl, email) took
    ~0.2 s of every command's start, a third of a ``librarian --once`` run's fixed cost."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True)
    env_prefix: ClassVar[str] = "PF_"

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self)), **values})


def _from_environment(cls: type[PFSettings]) -> dict[str, str | None]:
    """The raw values of ``cls``'s fields found in the environment (names compared without case,
    an exact upper-case name first), left to pydantic to parse; an empty value of a setting that
    may be unset (``X | None``) unsets it. A field's value may come from the file named by
    ``PF_<FIELD>_FILE`` (a Docker secret) when ``PF_<FIELD>`` is not set; it is never copied into
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
        secret = lookup(f"{var}_FILE") if found is None else None
        if secret is not None:  # only for a setting of this class: PF_GEOCODE_CITIES_FILE is a
            # setting, not the secret of a PF_GEOCODE_CITIES (that read a 9 MB file into the
            # environment, and every tool started after it failed: "Argument list too long")
            try:
                found = Path(secret).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{var.upper()}_FILE: cannot read {secret}: {exc.strerror}") from exc
        if found == "" and type(None) in get_args(field.annotation):
            out[name] = None  # `PF_GEOCODE_CITIES_FILE=` in a .env: not set (was "cannot read ''")
        elif found is not None:
            out[name] = found
    return out


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
            shown = f" (got {raw!r})" if raw is not None and "URL" not in var else ""
            problems.append(f"{var}: {err['msg']}{shown}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
