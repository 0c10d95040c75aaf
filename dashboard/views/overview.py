"""Overview: the verdict, then every service's heartbeat next to its container."""

from __future__ import annotations

import streamlit as st

from dashboard import verdict
from dashboard.context import Context
from dashboard.format import DOT, age

TITLE = "Overview"


def service_rows(ctx: Context) -> list[dict]:
    """Heartbeat and container side by side, one row per known or expected service."""
    docker = ctx.docker.containers if ctx.docker.available else {}
    services = verdict.with_effective(ctx.store.services(), ctx.settings.stale_factor, docker)
    seen = {s["service"] for s in services}
    rows = []
    for s in services + [{"service": n, "effective": "not seen", "level": "unknown", "age_s": None,
                          "message": "no heartbeat yet (not deployed?)"} for n in verdict.EXPECTED
                         if n not in seen]:
        c = docker.get(s["service"], {})
        colour = verdict.COLOURS[s["level"]]
        rows.append({"": f":{colour}[●]", "service": s["service"], "heartbeat": f":{colour}[{s['effective']}]",
                     "age": age(s.get("age_s")), "message": s.get("message", ""),
                     "container": c.get("state", "–" if ctx.docker.available else "n/a"),
                     "health": c.get("health", "–"), "restarts": c.get("restarts"),
                     "uptime": age(c.get("uptime_s")) if c else "–", "image": c.get("image", "–")})
    return rows


def markdown_table(rows: list[dict]) -> str:
    """A GitHub-style markdown table of ``rows`` (pipes in values escaped)."""
    if not rows:
        return ""
    cols = list(rows[0])

    def cell(v: object) -> str:
        return ("–" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def render(ctx: Context) -> None:
    from dashboard import status, status_store  # the same verdict as `photo-factory status`

    if "pf_status_store" not in st.session_state:
        st.session_state["pf_status_store"] = status_store.StatusStore(ctx.core.database_url, "dashboard")
    v = status.collect(st.session_state["pf_status_store"], ctx.settings.stale_factor, ctx.docker)
    box = {"ok": st.success, "warning": st.warning, "error": st.error}[v["verdict"]]
    box(f"{DOT[v['verdict']]} **{v['headline']}**" + "".join(f"\n- {p}" for p in v["problems"]))
    for note in v["notes"]:
        st.info(note)
    from dashboard.views import maintenance_panel

    maintenance_panel.render(ctx)
    if not ctx.docker.available:
        st.info(f"Docker API unavailable ({ctx.docker.reason}); showing heartbeats only.")
    st.subheader("Services")
    # plain markdown (not the canvas grid): a dozen rows, readable in any browser, text in the DOM
    st.markdown(markdown_table(service_rows(ctx)))
