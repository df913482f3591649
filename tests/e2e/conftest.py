"""Fixtures for end-to-end runs (see tests/e2e/runs.py)."""

from __future__ import annotations

import pytest
from tests.e2e.runs import run_locust


@pytest.fixture
def locust(tmp_path):
    """``locust(args, ...)`` runs Locust headless with results under a temporary report dir."""

    def _run(args, **kwargs):
        return run_locust(list(args), tmp_path / "reports", **kwargs)

    return _run
