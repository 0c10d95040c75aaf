"""Library page, panoramas: each panorama with its frames, and stitching chosen files by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from dashboard.context import Context

Thumb = Callable[[Path, str], Path | None]


def render(ctx: Context, thumbnail_for: Thumb) -> None:
    st.subheader("Panoramas")
    panoramas = ctx.store.panoramas(ctx.present)
    if panoramas is None:
        st.caption("The stitcher is not deployed yet.")
        return
    if not panoramas:
        st.caption("No panorama yet: sweeps are found by themselves, or choose frames below.")
    for pano in panoramas:
        frames = pano["frames"]
        title = (f"#{pano['id']} · {pano['status']} · {len(frames)} frames · {pano['detection']}"
                 + (f" · {pano['width']}×{pano['height']}" if pano["width"] else "")
                 + (f" · {pano['reason']}: {pano['detail']}" if pano["reason"] else ""))
        with st.expander(title, expanded=pano["status"] == "done" and pano is panoramas[0]):
            if pano["pano_library_path"]:
                thumb = thumbnail_for(ctx.core.storage_dir, pano["pano_library_path"])
                if thumb is not None:
                    st.image(str(thumb), width="stretch")
                st.caption(pano["pano_library_path"])
            cols = st.columns(min(6, max(1, len(frames))))
            for i, frame in enumerate(frames):
                cell = cols[i % len(cols)]
                thumb = thumbnail_for(ctx.core.storage_dir, frame["library_path"])
                if thumb is not None:
                    cell.image(str(thumb), width="stretch")
                cell.caption(f"{i + 1}. #{frame['id']} {frame['name']}")
    render_stitch_form(ctx)


def render_stitch_form(ctx: Context) -> None:
    """Choose images of one day and ask the stitcher to make them one panorama."""
    with st.expander("Stitch chosen photos into a panorama"):
        day = st.date_input("Day the photos were taken", value=dt.date.today(), key="pano_day")
        images = ctx.store.images_of_day(day)
        if not images:
            st.caption("No photo taken that day.")
            return
        labels = {r["id"]: f"#{r['id']} {r['original_name']} ({r['captured_local'] or '?'})" for r in images}
        chosen = st.multiselect("Frames, in shooting order", list(labels), format_func=labels.__getitem__,
                                key="pano_frames")
        if st.button("Stitch these as one panorama", key="pano_stitch", disabled=len(chosen) < 2):
            order = [r["id"] for r in images if r["id"] in set(chosen)]
            pid = ctx.store.request_panorama(order)
            if pid is None:
                st.info("These frames were already asked for: see the panorama above.")
            else:
                st.success(f"Panorama #{pid} is queued: the stitcher makes it within a poll interval.")
