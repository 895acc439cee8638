"""Funds any account on a devnet: ETH through anvil's cheat RPC, tokens drawn from the token's faucet."""

from typing import TYPE_CHECKING

from neurolink.chain.tx import TxSender
from neurolink.devnet.anvil import rpc_call
from neurolink.errors import DevnetError

if TYPE_CHECKING:
    from neurolink.protocol.contracts import Contracts

# Gas money for each throwaway account that draws the faucet once.
_DRAWER_ETH = 10**18
# A bound on one call's work: 100 faucet draws.
MAX_DRAWS = 100


def fund_account(contracts: "Contracts", rpc_url: str, address: str, *, eth: int, tokens: int) -> None:
    """Add `eth` wei and `tokens` token units to `address` (a devnet only).

    The faucet gives each account a fixed amount once per cooldown, so tokens come from fresh
    throwaway accounts that each draw once and pass the draw on.
    """
    from eth_account import Account

    w3 = contracts.w3
    if eth:
        _add_eth(rpc_url, address, eth, int(w3.eth.get_balance(address)))  # type: ignore[arg-type]
    if not tokens:
        return
    token = contracts.token.functions
    if not token.faucetEnabled().call():
        raise DevnetError(f"chain {w3.eth.chain_id} has no token faucet: not a devnet")
    per_draw = int(token.FAUCET_AMOUNT().call())
    draws = -(-tokens // per_draw)
    if draws > MAX_DRAWS:
        raise DevnetError(f"at most {MAX_DRAWS * per_draw // 10**18} tokens per call")
    left = tokens
    for _ in range(draws):
        drawer = Account.create()
        _add_eth(rpc_url, drawer.address, _DRAWER_ETH, 0)
        sender = TxSender(w3, drawer)
        sender.transact(token.faucet())
        sender.transact(token.transfer(address, min(per_draw, left)))
        left -= min(per_draw, left)


def _add_eth(rpc_url: str, address: str, amount: int, current: int) -> None:
    try:
        rpc_call(rpc_url, "anvil_setBalance", [address, hex(current + amount)])
    except DevnetError as exc:
        raise DevnetError(f"{rpc_url} refused anvil_setBalance (not an anvil devnet?): {exc}") from exc
