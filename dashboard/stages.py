"""The Pipeline page's model: one row per stage with the numbers a user asks for (pure; no I/O).

Per stage: **pending** (waiting, neither in flight nor failed), **in flight**, **failed** (given
up; never counted inside pending), **done** today and in total, **rate** (items per minute, from
the worker's heartbeat), the **age of the oldest pending item**, and the **worker** state from
the heartbeat (a stopped or stale worker's node looks stopped). Ingest reads the librarian's
``queue_depth``; quarantine is its own node; a backup stage with no remote is flagged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.format import age

#: the flag stages: (name, the rollup column of items to do, the rollup column of items done)
FLAG_STAGES = (("thumbnails", "files", "thumbnailed"), ("geocode", "located", "geocoded"),
               ("backup", "files", "backed_up"))
#: a worker in one of these states is not working: its node is drawn stopped
NOT_WORKING = {"stopped", "stale", "stopping", "down", "error", "not seen"}
NO_REMOTE = "no remote configured"


def _worker(services: dict[str, dict], name: str) -> str:
    row = services.get(name)
    return row["effective"] if row else "not seen"


def _age_since(ts: dt.datetime | None, now: dt.datetime) -> str | None:
    return None if ts is None else age(max(0.0, (now - ts).total_seconds()))


def stage_rows(numbers: dict[str, Any], services: list[dict], now: dt.datetime) -> list[dict]:
    """The Pipeline table: ingest, the flag stages, stitch (once), each with its worker state.

    ``services`` are heartbeat rows with ``effective`` (``verdict.with_effective``)."""
    by_name = {s["service"]: s for s in services}
    details = {n: (s.get("details") or {}) for n, s in by_name.items()}
    totals = numbers["totals"]
    rows = [{
        "stage": "ingest", "worker": _worker(by_name, "librarian"),
        "pending": details.get("librarian", {}).get("queue_depth"), "in flight": None,
        "failed": None, "done today": numbers["ingested_today"], "done total": totals.get("files", 0),
        "rate /min": round(numbers["ingested_last_hour"] / 60, 2), "oldest pending": None, "note": "",
    }]
    jobs = numbers["jobs"]
    for stage, todo_col, done_col in FLAG_STAGES:
        done = int(totals.get(done_col, 0))
        not_done = max(0, int(totals.get(todo_col, 0)) - done)
        job = (jobs or {}).get(stage) or {}
        claimed, failed = int(job.get("claimed", 0)), int(job.get("failed", 0))
        note = ""
        if stage == "backup" and _no_remote(by_name.get("backup")):
            note = "no remote configured: nothing is backed up (set PF_BACKUP_REMOTE)"
        rows.append({
            "stage": stage, "worker": _worker(by_name, stage),
            "pending": max(0, not_done - claimed - failed), "in flight": claimed if jobs is not None else None,
            "failed": failed if jobs is not None else None,
            "done today": numbers["done_today"].get(stage, 0), "done total": done,
            "rate /min": details.get(stage, {}).get("rate_per_min"),
            "oldest pending": _age_since(numbers["oldest"].get(stage), now), "note": note,
        })
    pano = numbers.get("panoramas")
    if pano is not None:
        rows.append({
            "stage": "stitch", "worker": _worker(by_name, "stitch"), "pending": pano.get("pending", 0),
            "in flight": pano.get("claimed", 0), "failed": pano.get("failed", 0),
            "done today": pano.get("done_today", 0), "done total": pano.get("done_total", 0),
            "rate /min": details.get("stitch", {}).get("rate_per_min"),
            "oldest pending": _age_since(pano.get("oldest_pending"), now), "note": "panoramas",
        })
    return rows


def _no_remote(backup: dict | None) -> bool:
    if backup is None:
        return False
    d = backup.get("details") or {}
    return ("remote" in d and not d["remote"]) or NO_REMOTE in (backup.get("message") or "")


def _n(value: object) -> str:
    return "–" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def diagram(rows: list[dict], quarantined: int) -> str:
    """Graphviz DOT: inbox → ingest → library → each stage (each once), ingest → quarantine.

    A node shows its numbers and worker; a stopped worker's node is grey and dashed, failed
    items make it red, a flagged stage (backup without remote) orange."""
    lines = ["digraph pipeline {", "rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];",
             'inbox [label="inbox"]; library [label="library", shape=cylinder];',
             f'quarantine [label="quarantine\\n{quarantined:,} file(s)", shape=folder, '
             f'color={"orange" if quarantined else "gray"}];']
    for r in rows:
        label = (f"{r['stage']} · {r['worker']}\\npending {_n(r['pending'])} · in flight {_n(r['in flight'])}"
                 f" · failed {_n(r['failed'])}\\ndone {_n(r['done today'])} today / {_n(r['done total'])}"
                 f"\\n{_n(r['rate /min'])}/min · oldest {_n(r['oldest pending'])}")
        if r["note"] and r["note"] != "panoramas":
            label += "\\n⚠ " + r["note"].split(":")[0]
        style, colour = "rounded", "black"
        if r["worker"] in NOT_WORKING:
            style, colour = "\"rounded,dashed,filled\", fillcolor=lightgray, fontcolor=dimgray", "gray"
        if r["note"] and r["note"] != "panoramas":
            colour = "orange"
        if isinstance(r["failed"], int) and r["failed"]:
            colour = "red"
        lines.append(f'"{r["stage"]}" [label="{label}", style={style}, color={colour}];')
    lines.append('inbox -> "ingest" -> library;')
    lines.append('"ingest" -> quarantine [style=dashed];')
    lines += [f'library -> "{r["stage"]}";' for r in rows if r["stage"] != "ingest"]
    lines.append("}")
    return "\n".join(lines)
