"""One service: its heartbeat details (readable), heartbeat history and its recent logs (the
container's under Docker, the process log under ``make run``), wrapped, with a text filter.

The service is in the URL (``/service?service=librarian``), so a service's page can be linked.
"""

from __future__ import annotations

import json

import streamlit as st

from dashboard import docker_state, logs, verdict
from dashboard.context import Context
from dashboard.format import age

TITLE = "Service"
LINES = (200, 500, 2000)


def detail_rows(details: dict) -> list[dict]:
    """Heartbeat details as ``{"detail", "value"}`` rows: nested values as compact JSON, never ``{…}``."""
    rows = []
    for key in sorted(details):
        value = details[key]
        if isinstance(value, dict | list):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        elif isinstance(value, float):
            text = f"{value:,.2f}"
        else:
            text = "–" if value is None else str(value)
        rows.append({"detail": key.replace("_", " "), "value": text})
    return rows


def render(ctx: Context) -> None:
    docker = ctx.docker.containers if ctx.docker.available else {}  # an exited container is down now
    services = verdict.with_effective(ctx.store.services(), ctx.settings.stale_factor, docker)
    names = [s["service"] for s in services] or list(verdict.EXPECTED)
    asked = st.query_params.get("service")
    name = st.selectbox("Service", names, key="service_name",
                        index=names.index(asked) if asked in names else 0)
    st.query_params["service"] = name
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
        details = row.get("details") or {}
        if details:
            st.subheader("Heartbeat details")
            st.table(detail_rows(details))
    st.subheader("Heartbeat history (24 h)")
    history = ctx.store.service_history(name, hours=24)
    if history:
        st.dataframe(history, hide_index=True, width="stretch")
    else:
        st.caption("No heartbeats in the last 24 hours.")
    render_logs(ctx, name)


def render_logs(ctx: Context, name: str) -> None:
    st.subheader("Logs")
    left, right = st.columns([3, 1])
    needle = left.text_input("Show only lines containing", key="log_filter")
    lines = right.selectbox("Last lines", LINES, key="log_lines")
    path = logs.process_log(name)
    if ctx.docker.available and name in ctx.docker.containers:
        text = logs.clean(docker_state.logs(ctx.docker.containers[name]["id"], ctx.settings.docker_url,
                                            tail=lines))
        source = f"container {name}"
    elif path is not None:
        text, source = logs.tail(path, lines), str(path)
    else:
        where = "" if ctx.docker.available else f" (Docker API unavailable: {ctx.docker.reason})"
        st.info(f"No logs found for {name}: no container and no process log{where}.")
        return
    shown = logs.matching(text, needle)
    st.caption(f"{source} · {len(shown.splitlines()):,} line(s)" + (f" containing {needle!r}" if needle else ""))
    st.code(shown or "(no matching line)", language=None, wrap_lines=True)
