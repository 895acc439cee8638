"""Reads JobMarket events out of receipts (other contracts' logs in the same receipt are skipped)."""

from typing import TYPE_CHECKING, Any

from neurolink.chain.errors import ChainError

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxReceipt


def event_args(market: "Contract", receipt: "TxReceipt", name: str) -> list[dict[str, Any]]:
    """The arguments of every `name` event the market emitted in `receipt`."""
    from web3.logs import DISCARD

    return [dict(e["args"]) for e in market.events[name]().process_receipt(receipt, errors=DISCARD)]


def created_job_id(market: "Contract", receipt: "TxReceipt") -> int:
    """The id of the job a `createJob` receipt opened."""
    created = event_args(market, receipt, "JobCreated")
    if len(created) != 1:
        raise ChainError(f"expected one JobCreated event in the receipt, found {len(created)}")
    return int(created[0]["jobId"])
