"""pytest fixtures for a real anvil chain: one per session, plus a web3 handle and dev accounts."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from neurolink.devnet.anvil import Anvil, start_anvil

if TYPE_CHECKING:
    from web3 import Web3


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """A fresh anvil on a free port, shared by the session; stopped at the end."""
    with start_anvil() as node:
        yield node


@pytest.fixture
def fresh_anvil() -> Iterator[Anvil]:
    """An anvil of the test's own, for tests that stop, restart or reorganise the chain."""
    with start_anvil() as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> "Web3":
    from neurolink.chain.provider import connect

    return connect(anvil.rpc_url)
