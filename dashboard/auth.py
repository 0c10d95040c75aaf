"""The optional dashboard password (``PF_DASHBOARD_PASSWORD``), checked once per browser session."""

from __future__ import annotations

import hmac

import streamlit as st


def allowed(password: str) -> bool:
    """True when no password is configured or this session entered it; otherwise show the form."""
    if not password or st.session_state.get("authenticated"):
        return True
    entered = st.text_input("Password", type="password", key="password")
    if entered:
        if hmac.compare_digest(entered.encode(), password.encode()):
            st.session_state["authenticated"] = True
            return True
        st.error("Wrong password.")
    return False
