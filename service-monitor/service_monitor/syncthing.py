"""Syncthing check through its REST API (``X-API-Key``): reachable, version, inbox folder state.

Uses only endpoints every Syncthing version serves: ``/rest/system/ping``,
``/rest/system/version``, ``/rest/system/status`` and ``/rest/db/status?folder=<id>``.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from service_monitor.checks import Check

log = logging.getLogger(__name__)
SERVICE = "syncthing"


def _get(session: requests.Session, base: str, path: str, timeout: float, **params: str) -> Any:
    resp = session.get(base.rstrip("/") + path, params=params or None, timeout=timeout)
    if resp.status_code in (401, 403):
        raise PermissionError(f"API key rejected ({resp.status_code})")
    resp.raise_for_status()
    return resp.json()


def folder_check(folder: str, st: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Turn ``/rest/db/status`` into (status, message, details) for the inbox folder."""
    state = st.get("state", "unknown")
    need_files = int(st.get("needFiles", 0) or 0)
    need_bytes = int(st.get("needBytes", 0) or 0)
    errors = int(st.get("errors", 0) or 0) + int(st.get("pullErrors", 0) or 0)
    details = {"folder": folder, "state": state, "need_files": need_files,
               "need_bytes": need_bytes, "errors": errors}
    if state == "error" or errors:
        return "error", f"folder {folder}: {state}, {errors} error(s) {st.get('error', '')}".strip(), details
    if need_files:
        return "ok", f"folder {folder}: {state}, {need_files} file(s) still to arrive", details
    return "ok", f"folder {folder}: {state}", details


def check(url: str, api_key: str, folder: str = "", timeout: float = 5.0) -> Check:
    """Check Syncthing at ``url``; never raises (an unreachable Syncthing is an ``error`` result)."""
    session = requests.Session()
    session.headers["X-API-Key"] = api_key
    try:
        _get(session, url, "/rest/system/ping", timeout)
        try:
            version = _get(session, url, "/rest/system/version", timeout).get("version", "?")
        except (requests.RequestException, ValueError):
            version = "?"
        system = _get(session, url, "/rest/system/status", timeout)
        details: dict[str, Any] = {"version": version, "uptime_s": system.get("uptime"),
                                   "device_id": str(system.get("myID", ""))[:7]}
        if not folder:
            return Check(SERVICE, "ok", f"reachable, {version}", details)
        status, message, fdetails = folder_check(folder, _get(session, url, "/rest/db/status", timeout,
                                                              folder=folder))
        return Check(SERVICE, status, f"{version}; {message}", {**details, **fdetails})
    except PermissionError as exc:
        return Check(SERVICE, "error", str(exc), {"url": url})
    except requests.HTTPError as exc:
        return Check(SERVICE, "error", f"API error: {exc}", {"url": url})
    except (requests.RequestException, ValueError) as exc:
        return Check(SERVICE, "error", f"unreachable: {type(exc).__name__}", {"url": url})
    finally:
        session.close()
