"""Devnet chores around the protocol: fund, register and stake accounts; move the chain's clock."""

from typing import TYPE_CHECKING

from neurolink.protocol.params import Capabilities

if TYPE_CHECKING:
    from web3 import Web3

    from neurolink.chain.tx import TxSender
    from neurolink.protocol.contracts import Contracts

UNLIMITED = 2**256 - 1


def fund(contracts: "Contracts", funder: "TxSender", account: "TxSender", amount: int) -> None:
    """Send `amount` tokens from `funder` and let the account's tokens be pulled by Staking and JobMarket."""
    funder.transact(contracts.token.functions.transfer(account.address, amount))
    account.transact(contracts.token.functions.approve(contracts.market.address, UNLIMITED))
    account.transact(contracts.token.functions.approve(contracts.staking.address, UNLIMITED))


def register_provider(
    contracts: "Contracts", provider: "TxSender", capabilities: Capabilities, stake: int
) -> None:
    """Register `provider` with `capabilities` and stake `stake` tokens it already holds."""
    provider.transact(contracts.staking.functions.register(capabilities.as_tuple()))
    provider.transact(contracts.staking.functions.stake(stake))


def advance_time(w3: "Web3", seconds: int) -> None:
    """Move a devnet's clock forward and mine a block, so the next transaction sees the new time."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
