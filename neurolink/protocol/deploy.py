"""Deploys NeuroToken (or takes a given ERC-20), Staking and JobMarket from the artifacts and wires them."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web3.contract import Contract

    from neurolink.chain.tx import TxSender

DEVNET_SUPPLY = 1_000_000_000 * 10**18
# Devnets run a handful of providers and wei-sized test jobs: every provider with at least 1/255 of the
# stake is drawn for every slot, and a slot may cost 1 wei. Real deployments (neurolink deploy) keep the
# contracts' defaults: width 1 and a 1-token minimum collateral (docs/PROTOCOL.md).
DEVNET_SORTITION_WIDTH = 255
DEVNET_MIN_COLLATERAL = 1


@dataclass(frozen=True)
class Protocol:
    """Bound handles of one deployment."""

    token: "Contract"
    staking: "Contract"
    market: "Contract"


def deploy_protocol(
    sender: "TxSender",
    *,
    token_address: str | None = None,
    treasury: str | None = None,
    sortition_width: int = DEVNET_SORTITION_WIDTH,
    min_collateral: int = DEVNET_MIN_COLLATERAL,
) -> Protocol:
    """Deploy Staking and JobMarket owned by `sender` (and a NeuroToken minted to it unless given one),
    with the devnet's sortition width and minimum collateral unless told otherwise."""
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
    if sortition_width != 1:
        sender.transact(market.functions.setSortitionWidth(sortition_width))
    sender.transact(market.functions.setMinCollateral(min_collateral))
    return Protocol(token=token, staking=staking, market=market)
