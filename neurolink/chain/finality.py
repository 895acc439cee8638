"""How far behind the head a block counts as final: the chain's `safe` tag, else per-chain confirmations."""

from typing import TYPE_CHECKING, Literal

from neurolink.chain.deployments import DEVNET_CHAIN_IDS, MAINNETS

if TYPE_CHECKING:
    from web3 import Web3

FinalityTag = Literal["safe", "finalized"]
# Confirmations where the RPC has no `safe`/`finalized` tag: a devnet has one miner and no reorgs
# unless asked for; rollups and sidechains reorganise deeper than Ethereum's ~2 blocks in practice.
DEVNET_CONFIRMATIONS = 0
MAINNET_CONFIRMATIONS = 12
OTHER_CONFIRMATIONS = 6
CONFIRMATIONS_BY_CHAIN: dict[int, int] = {137: 64, 56: 15, 250: 10, 43114: 12}


def default_confirmations(chain_id: int) -> int:
    """Confirmations to wait on `chain_id` when its RPC has no finality tag (0 only on devnets)."""
    if chain_id in DEVNET_CHAIN_IDS:
        return DEVNET_CONFIRMATIONS
    if chain_id in CONFIRMATIONS_BY_CHAIN:
        return CONFIRMATIONS_BY_CHAIN[chain_id]
    return MAINNET_CONFIRMATIONS if chain_id in MAINNETS.values() else OTHER_CONFIRMATIONS


class Finality:
    """The newest block a reader may trust on one chain.

    `confirmations` given: head minus that many. Else on a devnet the head itself; elsewhere the RPC's
    `tag` block when it has one (post-merge Ethereum and most rollups), else head minus the chain's
    default confirmations.
    """

    def __init__(self, w3: "Web3", *, confirmations: int | None = None, tag: FinalityTag = "safe") -> None:
        self.w3 = w3
        self.tag = tag
        self.chain_id = int(w3.eth.chain_id)
        self.confirmations = confirmations
        self._has_tag: bool | None = None
        if confirmations is None and self.chain_id in DEVNET_CHAIN_IDS:
            self.confirmations = DEVNET_CONFIRMATIONS

    def safe_block(self, head: int) -> int:
        """The newest trusted block number, given the chain's `head`."""
        if self.confirmations is not None:
            return head - self.confirmations
        if self._has_tag is not False:
            number = self._tagged()
            if number is not None:
                return min(number, head)
        return head - self._fallback()

    def _fallback(self) -> int:
        return default_confirmations(self.chain_id)

    def _tagged(self) -> int | None:
        from web3.exceptions import BlockNotFound, Web3RPCError

        try:
            block = self.w3.eth.get_block(self.tag)
        except (Web3RPCError, BlockNotFound, ValueError):
            # The RPC does not know the tag (pre-merge nodes, some L2s): confirmations from now on.
            self._has_tag = False
            return None
        self._has_tag = True
        return int(block["number"])
