"""Pipeline: the stages as a diagram and a table, with each stage's numbers and worker state
(see ``dashboard.stages``)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import stages, verdict
from dashboard.context import Context

TITLE = "Pipeline"


def render(ctx: Context) -> None:
    numbers = ctx.store.stage_numbers(ctx.present)
    docker = ctx.docker.containers if ctx.docker.available else {}  # an exited container is down now
    services = verdict.with_effective(ctx.store.services(), ctx.settings.stale_factor, docker)
    rows = stages.stage_rows(numbers, services, dt.datetime.now(dt.UTC))
    quarantined = int(numbers["quarantine"].get("quarantined") or 0)
    st.graphviz_chart(stages.diagram(rows, quarantined))
    st.dataframe(rows, hide_index=True, width="stretch")
    for r in rows:
        if r["note"] and r["note"] != "panoramas":
            st.warning(f"{r['stage']}: {r['note']}")
    st.caption("Pending: waiting (failed and in-flight items are counted apart). Done: today / in total. "
               "Rate: the worker's last five minutes. A stopped or stale worker's node is grey and dashed.")
    if "stage_jobs" not in ctx.present:
        st.info("Stage engine not deployed yet: in-flight and failed counts will appear when it is.")
