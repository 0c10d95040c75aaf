"""rclone's streamed log, read in batches (``Rclone.run_streaming``): every line reaches the
caller once and whole, in order, also the last one without a line break and a character cut
between two reads; a tool that stalls is killed at its deadline with its children."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from processor.backup import rclone


def _tool(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-rclone"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_every_line_arrives_once_whole_and_in_order(tmp_path):
    # 3,000 lines in bursts (several 64 KiB reads), a multi-byte character, a last line without \n
    body = ("i=0; while [ $i -lt 30 ]; do j=0; while [ $j -lt 100 ]; do "
            "echo \"{\\\"n\\\":$i.$j,\\\"msg\\\":\\\"日本 $(printf '%0200d' 0)\\\"}\" >&2; j=$((j+1)); done; "
            "sleep 0.01; i=$((i+1)); done; printf 'last' >&2\n")
    seen: list[str] = []
    proc = rclone.Rclone(_tool(tmp_path, body)).run_streaming("copy", on_line=seen.append)
    assert proc.returncode == 0
    expected = [f'{{"n":{i}.{j},"msg":"日本 {"0" * 200}"}}\n' for i in range(30) for j in range(100)] + ["last"]
    assert seen == expected
    assert proc.stderr == "".join(expected)


def test_a_line_handler_that_fails_loses_no_line(tmp_path):
    def boom(line: str) -> None:
        raise ValueError(line)

    proc = rclone.Rclone(_tool(tmp_path, "echo one >&2; echo two >&2; exit 3\n")).run_streaming("copy", on_line=boom)
    assert (proc.returncode, proc.stderr) == (3, "one\ntwo\n")


def test_a_stalled_tool_is_killed_at_its_deadline_with_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    body = f"echo started >&2; sleep 600 & echo $! > {pidfile}; wait\n"
    seen: list[str] = []
    with pytest.raises(rclone.RcloneError) as err:
        rclone.Rclone(_tool(tmp_path, body), timeout_s=2).run_streaming("copy", on_line=seen.append)
    assert err.value.reason == "rclone_timeout"
    assert seen == ["started\n"]
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the tool's child outlived the deadline")


def test_a_list_longer_than_the_pipe_reaches_the_tool_whole_on_stdin(tmp_path):
    got = tmp_path / "got.list"
    listing = "".join(f"Library/2024/2024-01-01/IMG_{n:06d}_{'x' * 80}.JPG\n" for n in range(20_000)).encode()
    assert len(listing) > 1 << 20  # far more than a pipe holds: the tool reads while it is written
    tool = rclone.Rclone(_tool(tmp_path, f"sleep 0.5; cat > {got}; echo read >&2\n"))
    proc = tool.run_streaming("copy", on_line=lambda line: None, feed=listing)
    assert (proc.returncode, proc.stderr) == (0, "read\n")
    assert got.read_bytes() == listing


def test_a_tool_that_never_reads_its_list_is_still_killed_at_its_deadline(tmp_path):
    listing = b"x" * (4 << 20)  # the writer blocks on the full pipe: the deadline must not
    tool = rclone.Rclone(_tool(tmp_path, "echo waiting >&2; sleep 600\n"), timeout_s=2)
    with pytest.raises(rclone.RcloneError) as err:
        tool.run_streaming("copy", on_line=lambda line: None, feed=listing)
    assert err.value.reason == "rclone_timeout"


def test_a_tool_started_ahead_is_taken_once_and_a_dead_one_is_replaced(tmp_path):
    tool = rclone.Rclone(_tool(tmp_path, "cat >&2\n"))
    ahead = tool.start("copy", stdin=True)
    proc = tool.run_streaming("copy", on_line=lambda line: None, feed=b"a\n", started=ahead)
    assert proc.stderr == "a\n" and list(proc.args) == ahead.cmd
    ahead.close()  # taken: closing it does nothing (it ended on its own)
    assert ahead.proc.returncode == 0

    dead = tool.start("copy", stdin=True)
    dead.proc.kill()
    dead.proc.wait()
    proc = tool.run_streaming("copy", on_line=lambda line: None, feed=b"b\n", started=dead)
    assert (proc.returncode, proc.stderr) == (0, "b\n")  # a fresh one ran it

    other = tool.start("lsf", stdin=True)  # started for another command: killed, not used
    proc = tool.run_streaming("copy", on_line=lambda line: None, feed=b"c\n", started=other)
    assert proc.stderr == "c\n" and other.proc.returncode is not None and other.proc.returncode < 0
