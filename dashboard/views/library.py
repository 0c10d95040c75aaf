"""Library: counts by type and month, storage used, recent files with thumbnails and places, the
places map, panoramas with their frames (and stitching chosen files), quarantine."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.context import Context
from dashboard.format import size
from dashboard.views import library_groups, library_panoramas

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


def place_label(row: dict) -> str:
    """'Grindelwald, Bern, Switzerland', 'at sea', '' (not geocoded); '(coast)' when coastal."""
    if row.get("place_kind") == "ocean":
        return "at sea"
    parts = [row.get("city"), row.get("region"), row.get("country") or row.get("country_code")]
    label = ", ".join(p for p in parts if p)
    return f"{label} (coast)" if label and row.get("place_kind") == "coast" else label


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
        place = place_label(asset)
        cell.caption(f"#{asset['id']} {asset['original_name']} · {asset['capture_date']}"
                     + (f" · 📍 {place}" if place else ""))
    render_places(ctx)
    library_panoramas.render(ctx, thumbnail_for)
    library_groups.render(ctx, thumbnail_for)
    st.subheader("Quarantine by reason")
    if lib["quarantine"]:
        st.dataframe(lib["quarantine"], hide_index=True)
    else:
        st.caption("Nothing in quarantine.")


def render_places(ctx: Context) -> None:
    """The map of the newest located photos, and the places with the most photos."""
    st.subheader("Places")
    located = ctx.store.located()
    if not located:
        st.caption("No photo with a location yet.")
        return
    st.map([{"lat": r["lat"], "lon": r["lon"]} for r in located], latitude="lat", longitude="lon", size=40)
    st.caption(f"The {len(located):,} newest photos with a location.")
    places = ctx.store.places()
    if places:
        st.dataframe([{"place": place_label(p) or "(not named)", "country": p["country_code"],
                       "files": p["files"]} for p in places], hide_index=True)
    else:
        st.caption("Places are named by the geocoder (`photo-factory geocode`).")
