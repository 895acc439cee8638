"""Shared fixtures: a real anvil chain per session (neurolink.devnet.pytest_plugin), a js-ipfs daemon."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["neurolink.devnet.pytest_plugin", "neurolink.content.pytest_plugin"]


@pytest.fixture(scope="session", autouse=True)
def _own_devnet_pointer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Devnets the tests start record themselves under a cache folder of the session, not the user's."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
