"""``photo-factory assets``: one line per asset, for scripts (a contract: see the README).

``--json`` prints one JSON object per line with at least ``id``, ``library_path``, ``sha256``,
``size_bytes``, ``media_type``, ``capture_date``, ``date_source``, ``tz_source``, ``group``
(``null`` or ``{"id", "kind", "role"}``), ``sidecars`` (library paths) and ``motion_video``
(derivative path or ``null``). Rows are streamed (server-side cursor): memory stays flat at a
million assets, and output starts at once. Exit 0; 1 when the database cannot be reached.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

import click

from photo_factory import commands, db, settings
from photo_factory.assets_store import AssetsStore

GROUP_KINDS = ("live_photo", "raw_jpeg", "edit", "burst")


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of one asset."""
    group = None
    if row.get("group_id") is not None:
        group = {"id": row["group_id"], "kind": row["group_kind"], "role": row["group_role"]}
    capture = row.get("capture_date")
    return {
        "id": row["id"], "library_path": row["library_path"], "sha256": (row["sha256"] or "").strip(),
        "size_bytes": row["size_bytes"], "media_type": row["media_type"],
        "capture_date": capture.isoformat() if capture is not None else None,
        "date_source": row["date_source"], "tz_source": row["tz_source"], "group": group,
        "sidecars": list(row.get("sidecars") or []), "motion_video": row.get("motion_video"),
    }


def as_line(rec: dict[str, Any]) -> str:
    """The plain line: id, capture date, media type, group kind:role (or -), library path (tabs)."""
    g = rec["group"]
    group = f"{g['kind']}:{g['role']}" if g else "-"
    return "\t".join([str(rec["id"]), rec["capture_date"] or "-", rec["media_type"], group, rec["library_path"]])


def write(rows: Iterable[dict[str, Any]], out: IO[str], as_json: bool) -> int:
    n = 0
    for row in rows:
        rec = as_record(row)
        out.write((json.dumps(rec, ensure_ascii=False) if as_json else as_line(rec)) + "\n")
        n += 1
    out.flush()
    return n


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the scripting contract).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only assets captured on or after this date (YYYY-MM-DD, the capture_date).")
@click.option("--group-kind", type=click.Choice(GROUP_KINDS), default=None,
              help="Only assets in a group of this kind.")
def assets_command(as_json: bool, since: datetime | None, group_kind: str | None) -> None:
    """List every asset, one line each (streamed; --json for scripts)."""
    core = commands.load_settings(settings.CoreSettings)
    # stdout is the data: logs go to stderr
    logging.basicConfig(level=core.log_level.upper(), stream=sys.stderr, force=True)
    store = AssetsStore(core.database_url)
    try:
        write(store.stream(since.date() if since else None, group_kind), sys.stdout, as_json)
    except BrokenPipeError:  # `photo-factory assets | head`: the reader has enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
    except db.UNAVAILABLE as exc:
        click.echo(f"photo-factory assets: cannot reach the database: {str(exc).strip()}", err=True)
        sys.exit(1)
