"""The adversity suite: what a hostile or careless world sends the pipeline.

Every test here is marked ``adversity`` (``pytest -m adversity`` runs the suite alone) and ends by
running :func:`tests.support.invariants.check`, the promise in code.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.adversity)
