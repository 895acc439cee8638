"""Fixtures of the provider-node tests: deployed contracts on the session's anvil, a private Redis."""

from collections.abc import Iterator

import pytest
from provider_bench import Host, Network, RedisServer, deploy_network, make_host, start_workers

from neurolink.devnet.anvil import Anvil


@pytest.fixture(scope="session")
def network(anvil: Anvil) -> Network:
    return deploy_network(anvil)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def host(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A NEUROLINK_HOME with two CPU device workers, shared by the provider accounts of the tests."""
    shared = make_host(tmp_path_factory.mktemp("host"), redis_server.url, slots=2)
    pool = start_workers(shared)
    yield shared
    pool.stop()
