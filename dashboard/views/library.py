"""Library: counts by type, a year x month heatmap (empty months included), browsing by day,
month, place or camera with thumbnails, search by name, date range, place and camera, a map of
the places, panoramas with their frames (and stitching chosen files), quarantine.

Everything here is fast on a million assets: totals come from rollups (migration 0019), pages
are keyset-paginated (``dashboard.library_search``), never OFFSET, never a whole-table count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.context import Context
from dashboard.format import size
from dashboard.library_search import PAGE_SIZE, START, Filters, month_grid, month_span, next_cursor
from dashboard.views import library_groups, library_panoramas

TITLE = "Library"
MODES = ("All", "Day", "Month", "Place", "Camera", "Search")


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
    left, right = st.columns([1, 2])
    left.subheader("By media type")
    left.dataframe([{**r, "size": size(r["bytes"])} for r in lib["by_type"]], hide_index=True)
    right.subheader("By month")
    grid = month_grid(lib["by_month"])
    if grid:
        right.altair_chart(heatmap(grid), width="stretch")
    else:
        right.caption("The library is empty: drop files into the inbox.")
    filters = browse_controls(ctx)
    render_page_of_assets(ctx, filters)
    render_places(ctx, filters)
    library_panoramas.render(ctx, thumbnail_for)
    library_groups.render(ctx, thumbnail_for)
    st.subheader("Quarantine by reason")
    if lib["quarantine"]:
        st.dataframe(lib["quarantine"], hide_index=True)
    else:
        st.caption("Nothing in quarantine.")


def heatmap(grid: list[dict]) -> alt.Chart:
    """Years down, months across: one cell per month, empty months pale; readable over decades."""
    data = pd.DataFrame(grid)
    return alt.Chart(data).mark_rect(stroke="white").encode(
        x=alt.X("month:O", title="month"), y=alt.Y("year:O", title=None, sort="descending"),
        color=alt.Color("files:Q", scale=alt.Scale(scheme="blues"), title="files"),
        tooltip=["year:O", "month:O", alt.Tooltip("files:Q", format=",")],
    ).properties(height=max(120, 18 * data["year"].nunique()))


def browse_controls(ctx: Context) -> Filters:
    """The browse/search controls as one ``Filters``."""
    st.subheader("Browse and search")
    mode = st.radio("Browse by", MODES, horizontal=True, key="lib_mode")
    span = ctx.store.capture_range()
    last = span.get("last") or dt.date.today()
    if mode == "Day":
        day = st.date_input("Day", value=last, key="lib_day")
        return Filters(date_from=day, date_to=day)
    if mode == "Month":
        first, end = month_span(st.date_input("Any day of the month", value=last, key="lib_month"))
        return Filters(date_from=first, date_to=end)
    if mode == "Place":
        place = place_picker(ctx, "lib_place")
        return Filters(country_code=place[0], city=place[1]) if place else Filters()
    if mode == "Camera":
        return Filters(camera=camera_picker(ctx, "lib_camera"))
    if mode == "Search":
        c = st.columns(4)
        name = c[0].text_input("Name contains", key="lib_name")
        dates = c[1].date_input("Taken between", value=[], key="lib_dates")
        with c[2]:
            place = place_picker(ctx, "lib_search_place", allow_any=True)
        with c[3]:
            camera = camera_picker(ctx, "lib_search_camera", allow_any=True)
        date_from = dates[0] if len(dates) > 0 else None
        date_to = dates[1] if len(dates) > 1 else date_from
        return Filters(name=name, date_from=date_from, date_to=date_to,
                       country_code=place[0] if place else None, city=place[1] if place else None,
                       camera=camera)
    return Filters()


def place_picker(ctx: Context, key: str, allow_any: bool = False) -> tuple[str | None, str | None] | None:
    places = [p for p in ctx.store.places(limit=500) if p["country_code"]]
    labels = {f"{place_label(p) or p['country_code']} ({p['files']:,})": (p["country_code"], p["city"])
              for p in places}
    options = (["any place"] if allow_any else []) + list(labels)
    if not options:
        st.caption("No named place yet: places are named by the geocoder.")
        return None
    chosen = st.selectbox("Place", options, key=key)
    return labels.get(chosen)


def camera_picker(ctx: Context, key: str, allow_any: bool = False) -> str | None:
    cameras = ctx.store.cameras()
    labels = {f"{' '.join(p for p in (c['camera_make'], c['camera_model']) if p)} ({c['files']:,})":
              c["camera_model"] for c in cameras}
    options = (["any camera"] if allow_any else []) + list(labels)
    if not options:
        st.caption("No camera recorded yet.")
        return None
    return labels.get(st.selectbox("Camera", options, key=key))


def render_page_of_assets(ctx: Context, filters: Filters) -> None:
    """A page of thumbnails, newest first; "Next page" follows the keyset, "First page" resets."""
    state = st.session_state
    if state.get("lib_filters") != filters:
        state["lib_filters"], state["lib_cursors"] = filters, [START]
    cursors: list = state["lib_cursors"]
    rows = ctx.store.browse(filters.params(), cursors[-1], PAGE_SIZE)
    st.caption(f"{filters.describe()} · page {len(cursors)} · newest first")
    if not rows:
        st.caption("No file matches." if len(cursors) == 1 else "No more files.")
    grid = st.columns(6)
    for i, asset in enumerate(rows):
        cell = grid[i % 6]
        thumb = thumbnail_for(ctx.core.storage_dir, asset["library_path"])
        if thumb is not None:
            cell.image(str(thumb), width="stretch")
        else:
            cell.caption("(no thumbnail yet)")
        place = place_label(asset)
        cell.caption(f"#{asset['id']} {asset['original_name']} · {asset['capture_date']}"
                     + (f" · 📍 {place}" if place else "")
                     + (f" · 📷 {asset['camera_model']}" if asset.get("camera_model") else ""))
    left, right = st.columns(2)
    if len(cursors) > 1 and left.button("First page", key="lib_first"):
        state["lib_cursors"] = [START]
        st.rerun()
    nxt = next_cursor(rows)
    if nxt is not None and right.button("Next page", key="lib_next"):
        cursors.append(nxt)
        st.rerun()


def render_places(ctx: Context, filters: Filters) -> None:
    """The map of the newest located photos (matching the browse filters), and the places."""
    st.subheader("Places")
    located = ctx.store.located(filters.params())
    if not located:
        st.caption("No photo with a location" + ("." if filters == Filters() else " matches."))
    else:
        st.map(pd.DataFrame([{"lat": r["lat"], "lon": r["lon"]} for r in located]),
               latitude="lat", longitude="lon", size=40)
        st.caption(f"The {len(located):,} newest photos with a location ({filters.describe()}).")
    places = ctx.store.places()
    if places:
        st.dataframe([{"place": place_label(p) or "(not named)", "country": p["country_code"],
                       "files": p["files"]} for p in places], hide_index=True)
    else:
        st.caption("Places are named by the geocoder (`photo-factory geocode`).")
