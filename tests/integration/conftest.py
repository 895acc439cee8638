"""Integration fixtures: the contract build, compiled once per session before anything deploys it."""

import pytest

from neurolink.compiler.build import BuildResult, build


@pytest.fixture(scope="session")
def contracts_built() -> BuildResult:
    """build/contracts up to date (a no-op when sources are unchanged)."""
    return build()
