"""Deploys NeuroToken (or takes a given ERC-20), Staking and JobMarket from the artifacts and wires them."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web3.contract import Contract

    from neurolink.chain.tx import TxSender

DEVNET_SUPPLY = 1_000_000_000 * 10**18


@dataclass(frozen=True)
class Protocol:
    """Bound handles of one deployment."""

    token: "Contract"
    staking: "Contract"
    market: "Contract"


def deploy_protocol(
    sender: "TxSender", *, token_address: str | None = None, treasury: str | None = None
) -> Protocol:
    """Deploy Staking and JobMarket owned by `sender` (and a NeuroToken minted to it unless given one)."""
    from neurolink.chain.artifacts import contract_at

    if token_address is None:
        token = sender.deploy("NeuroToken", DEVNET_SUPPLY)
    else:
        token = contract_at(sender.w3, "NeuroToken", token_address)
    staking = sender.deploy("Staking", token.address, sender.address)
    market = sender.deploy(
        "JobMarket", token.address, staking.address, sender.address, treasury or sender.address
    )
    sender.transact(staking.functions.setJobMarket(market.address))
    return Protocol(token=token, staking=staking, market=market)
