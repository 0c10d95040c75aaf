"""Backup freshness, the last runs and the last restore drill's result."""

from __future__ import annotations

import streamlit as st

from dashboard import verdict
from dashboard.context import Context
from dashboard.format import age

TITLE = "Backup"


def render(ctx: Context) -> None:
    b = ctx.store.backup(ctx.present)
    if b is None:
        st.info("Backup not deployed yet.")
        return
    fresh = b["freshness"] or {}
    cols = st.columns(3)
    hours = fresh.get("age_hours")
    cols[0].metric("Last good backup", age(float(hours) * 3600) + " ago" if hours is not None else "never")
    drill = b["drill"]
    cols[1].metric("Last restore drill", drill["result"] if drill else "never")
    cols[2].metric("Drill files checked", f"{drill['files_checked']:,}" if drill else "–")
    if drill and drill["result"] == "failed":
        st.error(verdict.drill_problem(drill).capitalize() + ".")
    st.subheader("Last runs")
    if b["runs"]:
        st.dataframe(b["runs"], hide_index=True, width="stretch")
    else:
        st.caption("No backup run yet.")
