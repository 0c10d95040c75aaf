"""The Streamlit dashboard (``photo-factory dashboard`` runs ``streamlit run`` on this file).

Every page has its own URL (``st.navigation``; see ``dashboard.views.URLS``) so a page such as
Failed items can be bookmarked. Settings come from the environment the CLI passed on. One store
(one connection) per browser session. A database that is down is reported on every page; Docker
being unavailable only removes the container columns.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth
from dashboard.context import Context
from dashboard.settings import DashboardSettings
from dashboard.store import DashboardStore
from dashboard.views import PAGES, url_path
from photo_factory import db, settings

REFRESH_CHOICES = [0, 10, 30, 60, 300]


def context() -> Context:
    if "pf_store" not in st.session_state:
        core = settings.load(settings.CoreSettings)
        dash = settings.load(DashboardSettings)
        st.session_state["pf_core"], st.session_state["pf_settings"] = core, dash
        st.session_state["pf_store"] = DashboardStore(core.database_url, "dashboard")
    return Context(st.session_state["pf_core"], st.session_state["pf_settings"], st.session_state["pf_store"])


def render_page(ctx: Context, title: str) -> None:
    try:
        PAGES[title].render(ctx)
    except db.UNAVAILABLE as exc:
        ctx.store.close()
        st.error(f"🔴 The database is unreachable: {str(exc).strip() or type(exc).__name__}")
        if ctx.docker.available:
            st.dataframe([{"service": k, **v} for k, v in ctx.docker.containers.items()], hide_index=True)
        else:
            st.info(f"Docker API unavailable ({ctx.docker.reason}).")


def main() -> None:
    st.set_page_config(page_title="Photo Factory", page_icon="📷", layout="wide")
    ctx = context()
    st.title("📷 Photo Factory")
    if not auth.allowed(ctx.settings.dashboard_password):
        st.stop()
    default = ctx.settings.dashboard_refresh_s
    choices = sorted(set(REFRESH_CHOICES) | {default})
    refresh = st.sidebar.selectbox("Auto-refresh", choices, index=choices.index(default), key="refresh",
                                   format_func=lambda s: "off" if not s else f"every {s}s")
    st.navigation([page(ctx, t, refresh) for t in PAGES], position="sidebar").run()


def page(ctx: Context, title: str, refresh: int) -> st.Page:
    """One page with its own URL; its body re-runs on its own every ``refresh`` seconds (0: off)."""

    def show() -> None:
        if not refresh:
            render_page(ctx, title)
            return

        @st.fragment(run_every=refresh)
        def body() -> None:
            render_page(Context(ctx.core, ctx.settings, ctx.store), title)

        body()

    path = url_path(title)
    return st.Page(show, title=title, url_path=path or "overview", default=not path)


main()
