"""A devnet made ready for work: NeuroLink deployed with short job windows, wallets funded from the faucet."""

from typing import TYPE_CHECKING

from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.protocol.contracts import Contracts

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from neurolink.chain.deployments import Deployment
    from neurolink.config import Settings
    from neurolink.protocol.params import Capabilities

DEPLOYER_INDEX = 0


def deploy_devnet(w3: "Web3", settings: "Settings") -> "Deployment":
    """Deploy (or find) NeuroLink with dev account 0 and the devnet tuning (one-minute job windows,
    every provider of a handful drawn for every slot; neurolink.protocol.plan.DEVNET_TUNING)."""
    from neurolink.deploy.deployer import DeployOptions, deploy
    from neurolink.protocol.plan import DEVNET_TUNING

    options = DeployOptions(initial_supply=0, tuning=DEVNET_TUNING)
    return deploy(w3, dev_account(DEPLOYER_INDEX), settings, options)[0]


def fund(contracts: Contracts, account: "LocalAccount") -> int:
    """Draw the faucet once for `account` (devnet chain ids only); returns its token balance."""
    TxSender(contracts.w3, account).transact(contracts.token.functions.faucet())
    return int(contracts.token.functions.balanceOf(account.address).call())


def register_provider(
    contracts: Contracts, account: "LocalAccount", stake: int, capabilities: "Capabilities | None" = None
) -> None:
    """Register `account` (default: one 16 GiB device of tier 0, free) with `stake` tokens staked."""
    from neurolink.protocol import devnet
    from neurolink.protocol.params import Capabilities

    sender = TxSender(contracts.w3, account)
    sender.transact(contracts.token.functions.approve(contracts.staking.address, stake))
    offered = capabilities or Capabilities(gpu_count=1, vram_mb=16_384, tier=0, price_per_gpu_second=0)
    devnet.register_provider(contracts, sender, offered, stake)
