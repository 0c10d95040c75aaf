"""``photo-factory restore --drill``: prove the backup restores, without touching anything live.

Restores the latest dump and the library from the remote into a scratch database (created next
to the live one, dropped afterwards) and a scratch folder, verifies every restored file's SHA-256,
and checks that every asset the live database calls backed up came back with the same content.
The verdict is recorded in ``restore_drills`` of the live database (a drill that could not even
restore is recorded ``failed`` too: the Overview shows it). Returns the exit status: 0 passed,
1 failed, 3 could not restore (one line says why).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from processor.backup import rclone
from processor.backup.preflight import Failed, Target
from processor.backup.restore import Incomplete, Summary, restore
from processor.backup.selection import Selection
from processor.backup.store import RestoreStore, create_scratch_database, drop_scratch_database

log = logging.getLogger(__name__)


def run_drill(
    tool: rclone.Rclone,
    remote: str,
    live_url: str,
    selection: Selection,
    dump: str | None,
    echo: Callable[[str], None],
    echo_err: Callable[[str], None] | None = None,
) -> int:
    live = RestoreStore(live_url, "restore-drill")
    sweep_abandoned(live, live_url)
    token = uuid.uuid4().hex[:10]
    scratch_name, scratch_dir = scratch_of(token)
    drill_id = live.start_drill(remote, token)
    scratch_dir.mkdir(mode=0o700)
    detail: dict = {}  # added to the row's (which names the scratch)
    summary = Summary()
    lost: list[str] = []
    try:
        scratch_url = create_scratch_database(live_url, scratch_name)
        summary = restore(tool, remote, Target(scratch_dir, scratch_url), selection, dump)
        lost = compare(live, RestoreStore(scratch_url, "restore-drill"), summary, selection)
    except Failed as exc:
        detail["error"] = f"{exc.reason}: {exc.detail}"
    except Incomplete as exc:
        summary = exc.summary
        detail["error"] = f"incomplete: {exc.detail}"
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
        drop_scratch_database(live_url, scratch_name)
    passed = "error" not in detail and summary.ok and not lost
    # a path restored missing is also "lost" for the live database: count each path once
    missing = sorted((set(summary.missing) | set(lost)) - set(summary.mismatched))
    detail.update(
        mismatched=summary.mismatched[:100],
        missing=missing[:100],
        registered=len(summary.registered),
        verified=summary.verified,
    )
    live.finish_drill(
        drill_id,
        dump_name=summary.dump_name,
        passed=passed,
        files_checked=summary.verified + len(summary.mismatched),
        mismatches=len(summary.mismatched),
        missing=len(missing),
        detail=detail,
    )
    live.close()
    if "error" in detail:
        (echo_err or echo)(f"restore drill {drill_id}: FAILED, could not restore: {detail['error']}")
        return 3
    for line in summary.lines():
        echo(line)
    for p in lost:
        if p not in summary.missing and p not in summary.mismatched:
            echo(f"  LOST     {p} (backed up per the live database, not restored with the same content)")
    echo(f"restore drill {drill_id}: {'PASSED' if passed else 'FAILED'}")
    return 0 if passed else 1


def scratch_of(token: str) -> tuple[str, Path]:
    """A drill's scratch database and folder (in the temporary folder)."""
    return f"pf_drill_{token}", Path(tempfile.gettempdir()) / f"pf-drill-{token}"


def sweep_abandoned(live: RestoreStore, live_url: str) -> None:
    """Remove what drills killed before their end left (a whole scratch database on the live
    server, a restored copy in the temporary folder) and mark them ``interrupted``. Only this
    installation's drills (its own rows), and only those whose process is gone: a running drill
    holds its lock, so a second drill never touches the first one's scratch. A folder left on
    another machine stays there (its temporary folder is not ours to see)."""
    for row in live.abandoned_drills():
        name, folder = scratch_of(row["scratch"])
        drop_scratch_database(live_url, name)
        shutil.rmtree(folder, ignore_errors=True)
        live.close_abandoned_drill(row["id"], row["scratch"])
        log.warning("restore drill %s had been stopped before its end; its scratch (%s) is removed", row["id"], name)


def compare(live: RestoreStore, restored: RestoreStore, summary: Summary, selection: Selection) -> list[str]:
    """Library paths the live database calls backed up that did not come back identical.

    The restore already hashed every restored file against the restored rows (``summary``), so
    a path is intact when its restored row has the live SHA-256 and its file passed that check.
    """
    try:
        got = {
            a.library_path: a.sha256 for a in restored.select_assets(selection.path, selection.since, selection.until)
        }
    finally:
        restored.close()
    bad = set(summary.mismatched) | set(summary.missing) | set(summary.never_backed_up)
    return [
        path
        for path, sha in live.backed_up_assets().items()
        if selection.matches(path) and (got.get(path) != sha or path in bad)
    ]
