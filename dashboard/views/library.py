"""Library: counts by type and month, storage used, recent files with thumbnails, quarantine."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.context import Context
from dashboard.format import size

TITLE = "Library"


def thumbnail_for(storage: Path, library_path: str) -> Path | None:
    """The smallest existing thumbnail (``Derivatives/thumbnails/<size>/<path>.jpg``) or None."""
    rel = library_path.split("/", 1)[1] if library_path.startswith("Library/") else library_path
    root = storage / "Derivatives" / "thumbnails"
    if not root.is_dir():
        return None
    sizes = sorted((d for d in root.iterdir() if d.name.isdigit()), key=lambda d: int(d.name))
    for d in sizes:
        candidate = d / f"{rel}.jpg"
        if candidate.is_file():
            return candidate
    return None


def render(ctx: Context) -> None:
    lib = ctx.store.library()
    total_files = sum(r["files"] for r in lib["by_type"])
    cols = st.columns(4)
    cols[0].metric("Files", f"{total_files:,}")
    cols[1].metric("Storage used", size(sum(r["bytes"] for r in lib["by_type"])))
    cols[2].metric("Duplicates removed", f"{lib['totals'].get('duplicate_removed', 0):,}")
    cols[3].metric("Quarantined", f"{lib['totals'].get('quarantined', 0):,}")
    left, right = st.columns(2)
    left.subheader("By media type")
    left.dataframe([{**r, "size": size(r["bytes"])} for r in lib["by_type"]], hide_index=True)
    right.subheader("By month")
    if lib["by_month"]:
        right.bar_chart({str(r["month"])[:7]: r["files"] for r in lib["by_month"]})
    st.subheader("Recent files")
    recent = lib["recent"]
    if not recent:
        st.caption("The library is empty: drop files into the inbox.")
    grid = st.columns(6)
    for i, asset in enumerate(recent):
        cell = grid[i % 6]
        thumb = thumbnail_for(ctx.core.storage_dir, asset["library_path"])
        if thumb is not None:
            cell.image(str(thumb), use_container_width=True)
        else:
            cell.caption("(no thumbnail yet)")
        cell.caption(f"#{asset['id']} {asset['original_name']} · {asset['capture_date']}")
    st.subheader("Quarantine by reason")
    if lib["quarantine"]:
        st.dataframe(lib["quarantine"], hide_index=True)
    else:
        st.caption("Nothing in quarantine.")
