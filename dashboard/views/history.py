"""History: uptime per service, processing volume over time and error rate, from the history tables."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context

TITLE = "History"
WINDOWS = {"24 hours": 24, "7 days": 24 * 7, "30 days": 24 * 30}


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


def render(ctx: Context) -> None:
    window = st.radio("Window", list(WINDOWS), horizontal=True, key="history_window")
    hours = WINDOWS[window]
    st.subheader("Uptime per service")
    uptime = ctx.store.uptime(hours)
    if uptime:
        st.dataframe(uptime, hide_index=True)
    else:
        st.caption("No heartbeats in this window.")
    rows = ctx.store.ingest_volume(hours)
    st.subheader("Processing volume (ingest decisions per hour)")
    if rows:
        st.line_chart(volume_by_hour(rows))
        st.subheader("Error rate (% errors and quarantines per hour)")
        st.line_chart(error_rate(rows))
    else:
        st.caption("Nothing ingested in this window.")
