"""Library page, files that belong together: badges for grouped assets (group kind and role) and
sidecars (count), motion photos' videos (playable), motion photos whose video is not there,
orphan sidecars waiting in quarantine, and capture dates flagged for review."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import streamlit as st

from dashboard.context import Context
from dashboard.library_groups_store import GroupsStore

Thumb = Callable[[Path, str], Path | None]
Colour = Literal["blue", "green", "violet", "orange"]

KINDS = {"live_photo": "Live Photo", "raw_jpeg": "RAW+JPEG", "edit": "edit", "burst": "burst"}
PROBLEMS = {
    "video_missing": "the photo says it holds a video; it does not",
    "bad_offset": "the video's offset points outside the file",
    "not_mp4": "the bytes at the video's offset are not an MP4",
    "empty_video": "the embedded video is empty",
    "truncated_video": "the file was cut in its video",
    "unplayable": "the embedded video does not play (ffprobe)",
}


def badges(asset: dict) -> list[tuple[str, Colour]]:
    """(label, colour) badges of one asset: its group, its sidecars, its motion video."""
    out: list[tuple[str, Colour]] = []
    if asset.get("group_kind"):
        out.append((f"🔗 {KINDS.get(asset['group_kind'], asset['group_kind'])} · {asset['group_role']}", "blue"))
    if asset.get("sidecars"):
        n = asset["sidecars"]
        out.append((f"📎 {n} sidecar{'s' if n != 1 else ''} ({asset.get('sidecar_kinds') or '?'})", "green"))
    if asset.get("motion_video"):
        out.append(("🎞 motion photo", "violet"))
    elif asset.get("motion_problem"):
        out.append((f"⚠ motion video: {asset['motion_problem']}", "orange"))
    return out


def render(ctx: Context, thumbnail_for: Thumb) -> None:
    store = GroupsStore(ctx.store.db)
    st.subheader("Files that belong together")
    counts = store.counts()
    cols = st.columns(4)
    cols[0].metric("Groups", f"{counts['groups']:,}", help=f"{counts['grouped']:,} files in groups")
    cols[1].metric("Sidecars", f"{counts['sidecars']:,}")
    cols[2].metric("Motion videos", f"{counts['motion_videos']:,}")
    cols[3].metric("Motion photos without video", f"{counts['motion_problems']:,}")
    recent = store.recent()
    if not recent:
        st.caption("No groups, sidecars or motion photos yet.")
    grid = st.columns(6)
    for i, asset in enumerate(recent):
        cell = grid[i % 6]
        thumb = thumbnail_for(ctx.core.storage_dir, asset["library_path"])
        if thumb is not None:
            cell.image(str(thumb), width="stretch")
        cell.caption(f"#{asset['id']} {asset['original_name']} · {asset['capture_date']}")
        for label, colour in badges(asset):
            cell.badge(label, color=colour)
    render_motion(ctx, store)
    render_review(store)


def render_motion(ctx: Context, store: GroupsStore) -> None:
    st.subheader("Motion photos")
    videos = store.motion_videos()
    if not videos:
        st.caption("No motion photo yet (Google, Samsung and HEIC motion photos show their video here).")
    cols = st.columns(max(1, len(videos)))
    for col, asset in zip(cols, videos, strict=False):
        path = ctx.core.storage_dir / asset["motion_video"]
        if path.is_file():
            col.video(str(path), loop=True, muted=True)
        else:
            col.caption("(the video is being made again)")
        motion = asset["motion"] if isinstance(asset["motion"], dict) else json.loads(asset["motion"] or "{}")
        seconds = f" · {motion['duration_s']:.1f} s" if motion.get("duration_s") else ""
        col.caption(f"#{asset['id']} {asset['original_name']}{seconds}")
    problems = store.motion_problems()
    if problems:
        st.markdown("**Motion photos whose video is not there** (filed as photos; nothing was lost)")
        st.dataframe([{"id": p["id"], "file": p["original_name"], "problem": p["problem"],
                       "meaning": PROBLEMS.get(p["problem"], ""), "detail": p["detail"]} for p in problems],
                     hide_index=True, width="stretch")


def render_review(store: GroupsStore) -> None:
    st.subheader("Orphan sidecars")
    orphans = store.orphan_sidecars()
    if orphans:
        st.caption("Sidecars whose photo has not arrived: kept in quarantine, attached when it does.")
        st.dataframe([{"id": o["id"], "sidecar": o["original_name"], "found at": o["source_path"],
                       "kept at": o["quarantine_path"], "since": o["quarantined_at"]} for o in orphans],
                     hide_index=True, width="stretch")
    else:
        st.caption("No orphan sidecar.")
    st.subheader("Dates to review")
    dates = store.dates_to_review()
    if dates:
        st.dataframe([{"id": d["id"], "file": d["original_name"], "capture date": d["capture_date"],
                       "from": d["date_source"], "why": _reason(d["reason"])} for d in dates],
                     hide_index=True, width="stretch")
    else:
        st.caption("No capture date flagged for review.")


def _reason(value: object) -> str:
    """The PF:SuspiciousDate entry as one line (a string, or an object with a reason)."""
    if isinstance(value, dict):
        return str(value.get("reason") or value.get("detail") or json.dumps(value, default=str))
    return "" if value is None else str(value)
