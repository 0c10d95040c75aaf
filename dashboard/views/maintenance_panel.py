"""The maintenance switch on the Overview: on for a while (alerts held), or off now."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.views.failed import ACTOR, operator

CHOICES = {"30 minutes": 1800, "1 hour": 3600, "2 hours": 7200, "6 hours": 21600, "1 day": 86400}


def render(ctx: Context) -> None:
    ops = operator(ctx)
    current = ops.maintenance()
    with st.expander("Maintenance" + (" (on)" if current else ""), expanded=current is not None):
        if current:
            st.warning(f"Maintenance until {current['until']:%Y-%m-%d %H:%M %Z}, set by {current['set_by']}"
                       + (f": {current['reason']}" if current["reason"] else "") + ". Alerts are held.")
            if st.button("Switch maintenance off", key="maintenance_off"):
                ops.maintenance_off(ACTOR)
                st.success("Maintenance off: problems that still last are alerted at the next monitor round.")
            return
        span = st.selectbox("For", list(CHOICES), index=2, key="maintenance_for")
        reason = st.text_input("Reason", key="maintenance_reason")
        if st.button("Switch maintenance on", key="maintenance_on"):
            until = ops.maintenance_on(CHOICES[span], reason, ACTOR)
            st.success(f"Maintenance on until {until:%Y-%m-%d %H:%M %Z}: alerts are held.")
