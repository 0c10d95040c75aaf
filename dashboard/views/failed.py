"""Failed items and quarantine with their reasons, and a Retry action that resets them."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context

TITLE = "Failed items"


def failed_section(ctx: Context) -> None:
    st.subheader("Failed processing")
    if "stage_jobs" not in ctx.present:
        st.info("Stage workers not deployed yet.")
        return
    items = ctx.store.failed_items(ctx.present)
    if not items:
        st.caption("No failed items.")
        return
    st.dataframe(items, hide_index=True, width="stretch")
    labels = {f"{i['stage']}:{i['asset_id']} {i['reason_code']}": i for i in items}
    chosen = st.multiselect("Items to retry", list(labels), key="retry_items")
    if st.button("Retry selected items", key="retry_items_button", disabled=not chosen):
        by_stage: dict[str, list[int]] = {}
        for label in chosen:
            by_stage.setdefault(labels[label]["stage"], []).append(labels[label]["asset_id"])
        n = sum(ctx.store.retry_failed(stage, ids) for stage, ids in by_stage.items())
        st.success(f"{n} item(s) queued again.")


def quarantine_section(ctx: Context) -> None:
    st.subheader("Quarantine")
    rows = ctx.store.quarantine()
    if not rows:
        st.caption("Nothing in quarantine.")
        return
    st.dataframe(rows, hide_index=True, width="stretch")
    labels = {f"#{r['id']} {r['original_name']} ({r['reason']})": r["id"] for r in rows
              if r["status"] == "quarantined"}
    chosen = st.multiselect("Files to retry (moved back to the inbox by the librarian)", list(labels),
                            key="retry_quarantine")
    if st.button("Retry selected files", key="retry_quarantine_button", disabled=not chosen):
        n = ctx.store.retry_quarantine([labels[c] for c in chosen])
        st.success(f"{n} file(s) will be moved back to the inbox.")


def render(ctx: Context) -> None:
    failed_section(ctx)
    quarantine_section(ctx)
    actions = ctx.store.recent_actions()
    if actions:
        st.subheader("Recent actions")
        st.dataframe(actions, hide_index=True)
