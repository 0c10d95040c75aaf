"""Small formatting helpers shared by the pages and ``photo-factory status`` (pure)."""

from __future__ import annotations

DOT = {"ok": "🟢", "warning": "🟠", "error": "🔴", "unknown": "⚪"}


def age(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``; ``–`` for unknown."""
    if seconds is None:
        return "–"
    s = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.0f}{unit}"
    return f"{s:.0f}s"


def size(n: int | float | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
