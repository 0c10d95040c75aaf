"""``photo-factory acknowledge …`` and ``photo-factory maintenance …``: the operator's switches.

    photo-factory acknowledge list                      # failed items and quarantine, with marks
    photo-factory acknowledge failed thumbnails:42 geocode:7
    photo-factory acknowledge failed --stage thumbnails --all
    photo-factory acknowledge quarantine 12 13          # or --all, or --reason undecodable
    photo-factory acknowledge quarantine 12 --undo      # counts against the verdict again
    photo-factory maintenance on --for 2h --reason "disk swap"
    photo-factory maintenance off | status
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any

import click

from photo_factory import commands, db
from photo_factory.operator import OperatorStore, default_actor

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """``90``/``90m`` minutes, ``30s``, ``2h``, ``1d`` → seconds (``ValueError`` otherwise)."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 2h, 1d)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _with_store(fn: Callable[[OperatorStore], Any]) -> Any:
    core = commands.core_settings()
    logging.getLogger("photo_factory.operator").setLevel(logging.WARNING)  # the command says it itself
    store = OperatorStore(core.database_url, "operator")
    try:
        return fn(store)
    except db.UNAVAILABLE as exc:
        click.echo(f"photo-factory: cannot reach the database: {str(exc).strip()}", err=True)
        sys.exit(1)
    finally:
        store.close()


@click.group()
def acknowledge() -> None:
    """Acknowledge failed items and quarantined files: kept and listed, left out of the verdict."""


@acknowledge.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also list the acknowledged ones.")
def list_command(show_all: bool) -> None:
    """List failed stage items and quarantined files (ack = acknowledged)."""

    def run(store: OperatorStore) -> None:
        failed, quarantined = store.failed_items(), store.quarantined_items()
        click.echo("FAILED ITEMS (acknowledge failed STAGE:ASSET_ID)")
        for r in failed:
            if show_all or not r["acknowledged"]:
                click.echo(f"  {'ack ' if r['acknowledged'] else '    '}{r['stage']}:{r['asset_id']:<8} "
                           f"{r['reason_code'] or '':20} {r['library_path']}")
        click.echo("QUARANTINE (acknowledge quarantine ID)")
        for r in quarantined:
            if show_all or not r["acknowledged"]:
                click.echo(f"  {'ack ' if r['acknowledged'] else '    '}{r['id']:<8} {r['reason']:20} "
                           f"{r['original_name']}")
        open_f = sum(not r["acknowledged"] for r in failed)
        open_q = sum(not r["acknowledged"] for r in quarantined)
        click.echo(f"{open_f} failed item(s) and {open_q} quarantined file(s) not acknowledged")

    _with_store(run)


@acknowledge.command("failed")
@click.argument("items", nargs=-1)
@click.option("--stage", help="With --all: every failed item of this stage.")
@click.option("--all", "every", is_flag=True, help="Every failed item of --stage.")
@click.option("--note", default="", help="Why (kept in operator_actions).")
@click.option("--by", "actor", default=None, help="Who acknowledges (default: $PF_ACTOR or the login name).")
@click.option("--undo", is_flag=True, help="Take the acknowledgement back.")
def failed_command(items: tuple[str, ...], stage: str | None, every: bool, note: str, actor: str | None,
                   undo: bool) -> None:
    """Acknowledge failed stage items given as STAGE:ASSET_ID (or --stage S --all)."""
    by_stage: dict[str, list[int] | None] = {}
    if every:
        if not stage or items or undo:
            raise click.UsageError("--all needs --stage and no ITEMS (and cannot be undone in bulk)")
        by_stage[stage] = None
    for item in items:
        name, _, asset = item.partition(":")
        if not name or not asset.isdigit():
            raise click.UsageError(f"not STAGE:ASSET_ID: {item!r}")
        ids = by_stage.setdefault(name, [])
        assert ids is not None
        ids.append(int(asset))
    if not by_stage:
        raise click.UsageError("name the items (STAGE:ASSET_ID …) or use --stage S --all")
    who = actor or default_actor()

    def run(store: OperatorStore) -> None:
        for name, ids in by_stage.items():
            done = store.acknowledge_failed(name, ids, who, note, undo=undo)
            click.echo(f"{'un-acknowledged' if undo else 'acknowledged'} {len(done)} failed {name} item(s)"
                       + (f": {', '.join(map(str, done))}" if done else ""))

    _with_store(run)


@acknowledge.command("quarantine")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every quarantined file (or every one of --reason).")
@click.option("--reason", default=None, help="With --all: only files quarantined for this reason.")
@click.option("--note", default="", help="Why (kept in operator_actions).")
@click.option("--by", "actor", default=None, help="Who acknowledges (default: $PF_ACTOR or the login name).")
@click.option("--undo", is_flag=True, help="Take the acknowledgement back.")
def quarantine_command(ids: tuple[int, ...], every: bool, reason: str | None, note: str, actor: str | None,
                       undo: bool) -> None:
    """Acknowledge quarantined files by id (see `acknowledge list`)."""
    if every == bool(ids) or (undo and every):
        raise click.UsageError("give quarantine ids, or --all [--reason R] (not both; --undo needs ids)")
    who = actor or default_actor()

    def run(store: OperatorStore) -> None:
        done = store.acknowledge_quarantine(None if every else list(ids), who, note, reason, undo=undo)
        click.echo(f"{'un-acknowledged' if undo else 'acknowledged'} {len(done)} quarantined file(s)"
                   + (f": {', '.join(map(str, done))}" if done else ""))

    _with_store(run)


@click.group()
def maintenance() -> None:
    """Maintenance: problems are still recorded, alerts are held, dashboard and status say so."""


@maintenance.command("on")
@click.option("--for", "duration", default="1h", show_default=True, help="How long: 30m, 2h, 1d.")
@click.option("--reason", default="", help="Shown on the dashboard and in status.")
@click.option("--by", "actor", default=None, help="Who (default: $PF_ACTOR or the login name).")
def maintenance_on(duration: str, reason: str, actor: str | None) -> None:
    """Switch maintenance on (it switches itself off after --for)."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    until = _with_store(lambda s: s.maintenance_on(seconds, reason, actor or default_actor()))
    click.echo(f"maintenance on until {until:%Y-%m-%d %H:%M:%S %Z}: alerts are held")


@maintenance.command("off")
@click.option("--by", "actor", default=None, help="Who (default: $PF_ACTOR or the login name).")
def maintenance_off(actor: str | None) -> None:
    """Switch maintenance off now; problems that still last are alerted at the next monitor round."""
    was = _with_store(lambda s: s.maintenance_off(actor or default_actor()))
    click.echo("maintenance off" if was else "maintenance was not on")


@maintenance.command("status")
def maintenance_status() -> None:
    """Say whether maintenance is on (exit 0 when on, 1 when off)."""
    m = _with_store(lambda s: s.maintenance())
    if m is None:
        click.echo("maintenance off")
        sys.exit(1)
    click.echo(f"maintenance on until {m['until']:%Y-%m-%d %H:%M:%S %Z} ({m['remaining_s'] / 60:.0f} min left)"
               f", set by {m['set_by']}" + (f": {m['reason']}" if m["reason"] else ""))
