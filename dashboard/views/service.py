"""One service: its details, heartbeat history and its container's recent logs."""

from __future__ import annotations

import streamlit as st

from dashboard import docker_state, verdict
from dashboard.context import Context
from dashboard.format import age

TITLE = "Service"


def render(ctx: Context) -> None:
    services = verdict.with_effective(ctx.store.services(), ctx.settings.stale_factor)
    names = [s["service"] for s in services] or list(verdict.EXPECTED)
    name = st.selectbox("Service", names, key="service_name")
    row = next((s for s in services if s["service"] == name), None)
    if row is None:
        st.info(f"{name} has not reported a heartbeat yet.")
    else:
        cols = st.columns(4)
        cols[0].metric("Heartbeat", row["effective"])
        cols[1].metric("Last beat", age(row["age_s"]) + " ago")
        cols[2].metric("Interval", f"{row['interval_s']:.0f}s")
        cols[3].metric("Host", row.get("host") or "–")
        st.write(row["message"])
        st.json(row.get("details") or {}, expanded=False)
    st.subheader("Heartbeat history (24 h)")
    history = ctx.store.service_history(name, hours=24)
    if history:
        st.dataframe(history, hide_index=True, use_container_width=True)
    else:
        st.caption("No heartbeats in the last 24 hours.")
    st.subheader("Container logs")
    if not ctx.docker.available:
        st.info(f"Docker API unavailable ({ctx.docker.reason}).")
    elif name not in ctx.docker.containers:
        st.info(f"No container for {name}.")
    else:
        st.code(docker_state.logs(ctx.docker.containers[name]["id"], ctx.settings.docker_url), language=None)
