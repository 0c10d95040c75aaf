"""Settings read once from the environment, validated, and passed down as frozen objects.

Every service gets the :class:`CoreSettings` plus its own settings class (defined in the
service's package, with its own ``PF_…`` variables). Secrets may come from ``<NAME>_FILE``
(the Docker secrets convention): ``PF_DATABASE_URL_FILE=/run/secrets/db_url``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar

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


def _from_environment(cls: type[PFSettings]) -> dict[str, str]:
    """The raw values of ``cls``'s fields found in the environment (names compared without case,
    an exact upper-case name first), left to pydantic to parse."""
    by_lower: dict[str, str] = {}
    for key, raw in os.environ.items():
        by_lower.setdefault(key.lower(), raw)
    out: dict[str, str] = {}
    for name in cls.model_fields:
        var = f"{cls.env_prefix}{name}"
        found = os.environ.get(var.upper(), by_lower.get(var.lower()))
        if found is not None:
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


def _apply_file_variants(prefix: str = "PF_") -> None:
    """Resolve ``PF_X_FILE`` into ``PF_X`` (a secret from a file) unless ``PF_X`` is set."""
    for key, value in list(os.environ.items()):
        if key.startswith(prefix) and key.endswith("_FILE"):
            target = key[: -len("_FILE")]
            if target not in os.environ:
                try:
                    os.environ[target] = Path(value).read_text().strip()
                except OSError as exc:
                    raise SettingsError(f"{key}: cannot read {value}: {exc.strerror}") from exc


def load(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment, raising :class:`SettingsError` naming the bad variable."""
    _apply_file_variants()
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
