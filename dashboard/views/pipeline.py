"""Pipeline: the stages as a diagram, with queue, in flight, failed and rate per stage."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context

TITLE = "Pipeline"
STAGES = ("thumbnails", "stitch", "geocode", "backup")


def stage_rows(ctx: Context) -> list[dict]:
    p = ctx.store.pipeline(ctx.present)
    beats = {s["service"]: s.get("details") or {} for s in ctx.store.services()}
    rows = [{"stage": "ingest", "queue": beats.get("librarian", {}).get("queue"), "in flight": None,
             "failed": None, "rate /min": round(p["ingested_last_hour"] / 60, 2)}]
    for stage in STAGES:
        jobs = (p["jobs"] or {}).get(stage, {})
        queue = p["flags"][stage] if stage in p["flags"] else jobs.get("pending", 0)
        failed = jobs.get("failed", 0)
        rows.append({"stage": stage, "queue": queue,
                     "in flight": jobs.get("claimed", 0), "failed": failed,
                     "rate /min": beats.get(stage, {}).get("rate_per_min")})
    if p["panoramas"] is not None:
        pano = p["panoramas"]
        rows.append({"stage": "panoramas", "queue": pano.get("pending", 0), "in flight": pano.get("stitching", 0),
                     "failed": pano.get("failed", 0), "rate /min": None})
    return rows


def _n(value: object) -> str:
    return "–" if value is None else str(value)


def diagram(rows: list[dict]) -> str:
    """A Graphviz DOT diagram: inbox → librarian → library → each stage, labelled with its numbers."""
    lines = ["digraph pipeline {", "rankdir=LR; node [shape=box, style=rounded];",
             'inbox [label="inbox"]; library [label="library"];']
    for r in rows:
        label = (f"{r['stage']}\\nqueue {_n(r['queue'])} · in flight {_n(r['in flight'])}"
                 f"\\nfailed {_n(r['failed'])}")
        colour = "red" if isinstance(r["failed"], int) and r["failed"] else "black"
        lines.append(f'"{r["stage"]}" [label="{label}", color={colour}];')
    lines.append('inbox -> "ingest" -> library;')
    lines += [f'library -> "{r["stage"]}";' for r in rows if r["stage"] != "ingest"]
    lines.append("}")
    return "\n".join(lines)


def render(ctx: Context) -> None:
    rows = stage_rows(ctx)
    st.graphviz_chart(diagram(rows))
    st.dataframe(rows, hide_index=True, use_container_width=True)
    if "stage_jobs" not in ctx.present:
        st.info("Stage engine not deployed yet: in-flight and failed counts will appear when it is.")
