"""History: uptime per service, processing volume over time and error rate, from the history tables.

Uptime is the share of a service's heartbeats in the window that said it was **up**: ``ok``,
``degraded`` (working, with a warning) and ``starting`` count as up; ``error``, ``stale``,
``stopping`` and ``stopped`` as down. The charts draw a marker on every point, so the first
hour (one point per series) is visible too.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.context import Context

TITLE = "History"
WINDOWS = {"24 hours": 24, "7 days": 24 * 7, "30 days": 24 * 30}
#: fixed colours per ingest decision, so a chart reads the same every time (and tests can find them)
KIND_COLOURS = {"ingested": "#1f77b4", "duplicate_removed": "#9467bd", "quarantined": "#ff7f0e",
                "error": "#d62728"}


def volume_by_hour(rows: list[dict]) -> dict[str, dict[str, int]]:
    """``{kind: {hour: n}}`` from the ingest_volume rows (pure, for the charts)."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["kind"], {})[r["hour"].strftime("%Y-%m-%d %H:00")] = r["n"]
    return out


def error_rate(rows: list[dict]) -> dict[str, float]:
    """Per hour: percent of ingest decisions that were errors or quarantines."""
    totals: dict[str, list[int]] = {}
    for r in rows:
        key = r["hour"].strftime("%Y-%m-%d %H:00")
        t = totals.setdefault(key, [0, 0])
        t[0] += r["n"]
        if r["kind"] in ("error", "quarantined"):
            t[1] += r["n"]
    return {h: round(100.0 * bad / n, 1) for h, (n, bad) in sorted(totals.items()) if n}


def line_with_points(data: pd.DataFrame, y: str, title: str, colour: str | None = None) -> alt.Chart:
    """A line chart that marks every point: a series of one point still draws."""
    chart = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=80, filled=True))
    enc: dict = {"x": alt.X("hour:T", title="hour"), "y": alt.Y(f"{y}:Q", title=title),
                 "tooltip": ["hour:T", f"{y}:Q"]}
    if colour:
        kinds = sorted(data[colour].unique())
        enc["color"] = alt.Color(f"{colour}:N", scale=alt.Scale(
            domain=kinds, range=[KIND_COLOURS.get(k, "#7f7f7f") for k in kinds]))
        enc["tooltip"] = [*enc["tooltip"], f"{colour}:N"]
    return chart.encode(**enc)


def render(ctx: Context) -> None:
    window = st.radio("Window", list(WINDOWS), horizontal=True, key="history_window")
    hours = WINDOWS[window]
    st.subheader("Uptime per service")
    uptime = ctx.store.uptime(hours)
    if uptime:
        st.dataframe(uptime, hide_index=True)
        st.caption("Up: ok, degraded or starting heartbeats; down: error, stale, stopping or stopped.")
    else:
        st.caption("No heartbeats in this window.")
    rows = ctx.store.ingest_volume(hours)
    st.subheader("Processing volume (ingest decisions per hour)")
    if not rows:
        st.caption("Nothing ingested in this window.")
        return
    volume = pd.DataFrame([{"hour": r["hour"], "kind": r["kind"], "files": int(r["n"])} for r in rows])
    st.altair_chart(line_with_points(volume, "files", "files per hour", colour="kind"), width="stretch")
    st.subheader("Error rate (% errors and quarantines per hour)")
    bad = volume.assign(bad=volume["files"].where(volume["kind"].isin(["error", "quarantined"]), 0))
    per_hour = bad.groupby("hour", as_index=False)[["files", "bad"]].sum()
    rate = per_hour.assign(percent=(100.0 * per_hour["bad"] / per_hour["files"]).round(1))
    st.altair_chart(line_with_points(rate, "percent", "% of decisions"), width="stretch")
