"""Failed items and quarantine with their reasons: Retry, Acknowledge (kept and listed, left out of
the verdict) and, for quarantined files, Delete. Every action is recorded in operator_actions."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from photo_factory.operator import OperatorStore

TITLE = "Failed items"
ACTOR = "dashboard"


def operator(ctx: Context) -> OperatorStore:
    """The operator store of this browser session (its own connection)."""
    if "pf_operator" not in st.session_state:
        st.session_state["pf_operator"] = OperatorStore(ctx.core.database_url, "dashboard")
    return st.session_state["pf_operator"]


def failed_section(ctx: Context) -> None:
    st.subheader("Failed processing")
    if "stage_jobs" not in ctx.present:
        st.info("Stage workers not deployed yet.")
        return
    ops = operator(ctx)
    rows = ops.failed_items()
    items = [r for r in rows if not r["acknowledged"]]
    acked = [r for r in rows if r["acknowledged"]]
    if not items:
        st.caption("No failed items" + (f" ({len(acked)} acknowledged, listed below)." if acked else "."))
    else:
        st.dataframe(items, hide_index=True, width="stretch")
        labels = {f"{i['stage']}:{i['asset_id']} {i['reason_code']}": i for i in items}
        chosen = st.multiselect("Items to retry", list(labels), key="retry_items")
        if st.button("Retry selected items", key="retry_items_button", disabled=not chosen):
            by_stage: dict[str, list[int]] = {}
            for label in chosen:
                by_stage.setdefault(labels[label]["stage"], []).append(labels[label]["asset_id"])
            n = sum(ctx.store.retry_failed(stage, ids) for stage, ids in by_stage.items())
            st.success(f"{n} item(s) queued again.")
        chosen = st.multiselect("Items to acknowledge (permanently bad: kept, no longer a problem)",
                                list(labels), key="ack_items")
        if st.button("Acknowledge selected items", key="ack_items_button", disabled=not chosen):
            by_stage = {}
            for label in chosen:
                by_stage.setdefault(labels[label]["stage"], []).append(labels[label]["asset_id"])
            n = sum(len(ops.acknowledge_failed(stage, ids, ACTOR)) for stage, ids in by_stage.items())
            st.success(f"{n} item(s) acknowledged.")
    if acked:
        with st.expander(f"Acknowledged failed items ({len(acked)})"):
            st.dataframe(acked, hide_index=True, width="stretch")


def quarantine_section(ctx: Context) -> None:
    st.subheader("Quarantine")
    ops = operator(ctx)
    rows = ops.quarantined_items()
    waiting = ctx.store.quarantine()  # also the files waiting for their retry
    if not rows and not waiting:
        st.caption("Nothing in quarantine.")
        return
    items = [r for r in rows if not r["acknowledged"]]
    acked = [r for r in rows if r["acknowledged"]]
    if items:
        st.dataframe(items, hide_index=True, width="stretch")
    labels = {f"#{r['id']} {r['original_name']} ({r['reason']})": r["id"] for r in rows}
    open_labels = [k for k, v in labels.items() if v in {r["id"] for r in items}]
    chosen = st.multiselect("Files to retry (moved back to the inbox by the librarian)", list(labels),
                            key="retry_quarantine")
    if st.button("Retry selected files", key="retry_quarantine_button", disabled=not chosen):
        n = ctx.store.retry_quarantine([labels[c] for c in chosen])
        st.success(f"{n} file(s) will be moved back to the inbox.")
    chosen = st.multiselect("Files to acknowledge (kept in quarantine, no longer a problem)", open_labels,
                            key="ack_quarantine")
    if st.button("Acknowledge selected files", key="ack_quarantine_button", disabled=not chosen):
        n = len(ops.acknowledge_quarantine([labels[c] for c in chosen], ACTOR))
        st.success(f"{n} file(s) acknowledged.")
    chosen = st.multiselect("Files to delete for good", list(labels), key="delete_quarantine")
    sure = st.checkbox("Yes, delete these files from the disk (this cannot be undone)", key="delete_confirm")
    if st.button("Delete selected files", key="delete_quarantine_button", disabled=not (chosen and sure)):
        n = len(ops.delete_quarantined([labels[c] for c in chosen], ctx.core.storage_dir, ACTOR))
        st.success(f"{n} file(s) deleted.")
    if acked:
        with st.expander(f"Acknowledged quarantined files ({len(acked)})"):
            st.dataframe(acked, hide_index=True, width="stretch")
    others = [r for r in waiting if r["status"] != "quarantined"]
    if others:
        st.caption("Waiting for the librarian:")
        st.dataframe(others, hide_index=True, width="stretch")


def render(ctx: Context) -> None:
    failed_section(ctx)
    quarantine_section(ctx)
    actions = ctx.store.recent_actions()
    if actions:
        st.subheader("Recent actions")
        st.dataframe(actions, hide_index=True)
