"""A one-shot tool's input (``tools.run(input=…)``: rclone's file lists go on its stdin) reaches it
whole even when the tool is slow to read it and the wait for its end is polled in steps."""

from __future__ import annotations

import pytest

from photo_factory import tools


@pytest.mark.parametrize("text", [False, True])
def test_an_input_bigger_than_a_pipe_reaches_a_slow_reader_whole(text: bool) -> None:
    data = "".join(f"Library/2024/2024-01-01/IMG_{n:07d}.JPG\n" for n in range(100_000))  # 3.8 MB
    proc = tools.run(["sh", "-c", "sleep 0.3; wc -c"], timeout=60, poll=0.02, text=text,
                     input=data if text else data.encode())
    assert proc.returncode == 0
    assert int(proc.stdout) == len(data)


def test_without_an_input_the_tools_stdin_is_empty() -> None:
    proc = tools.run(["wc", "-c"], timeout=60, text=True)
    assert int(proc.stdout) == 0
