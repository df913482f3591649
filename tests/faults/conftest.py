"""Fixtures of the fault matrix (helpers live in tests/faults/faultkit.py)."""

from tests.faults.faultkit import locust_process  # noqa: F401
