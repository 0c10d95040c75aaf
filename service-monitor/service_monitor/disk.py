"""Free space and growth of the storage and inbox volumes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from service_monitor.checks import Check

SERVICE = "disk"
GB = 1024**3


def usage(path: Path) -> dict[str, Any]:
    """Total/used/free bytes and free percent of the volume holding ``path``."""
    du = shutil.disk_usage(path)
    return {"path": str(path), "total_bytes": du.total, "used_bytes": du.used, "free_bytes": du.free,
            "free_percent": round(100.0 * du.free / du.total, 2) if du.total else 0.0}


def growth_per_day(now_used: int, before: dict[str, Any] | None, volume: str, hours: float) -> int | None:
    """Bytes per day grown since the beat ``hours`` ago (None when there is no such beat)."""
    if not before:
        return None
    old = (before.get("details") or {}).get(volume, {}).get("used_bytes")
    if old is None:
        return None
    return int((now_used - int(old)) * 24 / hours)


def evaluate(volumes: dict[str, dict[str, Any]], min_free_percent: float, min_free_gb: float) -> Check:
    """Judge the volumes: ``error`` when one falls below either free-space limit."""
    low = [name for name, v in volumes.items()
           if v["free_percent"] < min_free_percent or v["free_bytes"] < min_free_gb * GB]
    parts = [f"{name} {v['free_bytes'] / GB:.1f} GB free ({v['free_percent']:.0f}%)"
             for name, v in volumes.items()]
    if low:
        return Check(SERVICE, "error", "low disk space: " + ", ".join(parts), {**volumes, "low": low})
    return Check(SERVICE, "ok", ", ".join(parts), {**volumes, "low": []})


def check(paths: dict[str, Path], min_free_percent: float, min_free_gb: float,
          before: dict[str, Any] | None = None, hours: float = 24.0) -> Check:
    """Measure every volume (a missing folder is an ``error``), with growth since ``before``."""
    volumes: dict[str, dict[str, Any]] = {}
    missing = []
    for name, path in paths.items():
        if not path.is_dir():
            missing.append(f"{name} ({path})")
            continue
        v = usage(path)
        grow = growth_per_day(v["used_bytes"], before, name, hours)
        v["growth_bytes_per_day"] = grow
        v["days_until_full"] = round(v["free_bytes"] / grow, 1) if grow and grow > 0 else None
        volumes[name] = v
    if missing:
        return Check(SERVICE, "error", "volume missing: " + ", ".join(missing), {**volumes, "low": []})
    return evaluate(volumes, min_free_percent, min_free_gb)
