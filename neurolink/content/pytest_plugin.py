"""pytest fixtures for the content layer: one real js-ipfs daemon per session."""

from collections.abc import Iterator

import pytest

from neurolink.content.testing import IpfsDaemon, jsipfs_daemon


@pytest.fixture(scope="session")
def ipfs_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsDaemon]:
    """An offline js-ipfs daemon on free ports; a failure to start fails the tests (no skip)."""
    with jsipfs_daemon(tmp_path_factory.mktemp("ipfs-repo")) as daemon:
        yield daemon


@pytest.fixture(scope="session")
def ipfs_api_url(ipfs_daemon: IpfsDaemon) -> str:
    """The daemon's RPC API, e.g. http://127.0.0.1:41234."""
    return ipfs_daemon.api_url
