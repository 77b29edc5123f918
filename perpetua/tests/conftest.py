"""Fixtures of the cross-cutting tests."""

import pytest

from perpetua.api import health


@pytest.fixture(autouse=True)
def _fresh_readiness():
    """Each test's first readiness probe runs the checks (the result is reused for a second)."""
    health.forget_results()
    yield
    health.forget_results()
