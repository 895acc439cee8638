"""The node's only signer: journals each signed tx in the ledger before broadcast, resends after restarts."""

import logging
import time
from typing import TYPE_CHECKING, Any

from neurolink.chain.tx import SentTx, TxSender
from node.daemon.crash import crash_point
from node.daemon.ledger import Ledger, TxRow, TxStatus

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract.contract import ContractFunction
    from web3.types import TxReceipt

log = logging.getLogger(__name__)


class Submitter:
    """Sends contract calls for one account through TxSender, with a write-ahead journal in the ledger."""

    def __init__(
        self,
        w3: "Web3",
        account: "LocalAccount",
        ledger: Ledger,
        *,
        replace_after: float | None = 30.0,
        receipt_timeout: float = 300.0,
    ) -> None:
        self.ledger = ledger
        self.sender = TxSender(
            w3, account, on_signed=self._journal, replace_after=replace_after, receipt_timeout=receipt_timeout
        )

    @property
    def address(self) -> str:
        return self.sender.address

    def start(self) -> None:
        """Settle what the journal left open: re-send pending txs (same bytes and nonce), learn outcomes."""
        self.sender.resync()
        for nonce in sorted({tx.nonce for tx in self.ledger.txs(status=TxStatus.PENDING)}):
            self._recover_nonce(nonce)
        self.sender.resync()

    def stop(self) -> None:
        """Nothing to release: every send waits for its receipt, and the journal is already on disk."""

    def transact(
        self,
        fn: "ContractFunction",
        *,
        action: str,
        job_id: int | None = None,
        value: int = 0,
        extra_gas: int = 0,
    ) -> "TxReceipt":
        """Sign, journal, send and wait; a revert raises TransactionRevertedError with the decoded error."""
        params = self.sender.build(fn, value)
        sent = self.sender.sign(params, action, meta={"job_id": job_id}, extra_gas=extra_gas)
        return self._finish(sent)

    def _finish(self, sent: SentTx, others: tuple[str, ...] = ()) -> "TxReceipt":
        from neurolink.chain.errors import TransactionRevertedError

        sent = self.sender.broadcast(sent)
        crash_point(f"after-{sent.action}-sent")
        try:
            receipt = self.sender.wait(sent, others=others)
        except TransactionRevertedError as exc:
            self._settle_nonce(sent.nonce, exc_hash=None, status=TxStatus.REVERTED, error=str(exc))
            raise
        self._settle_nonce(sent.nonce, "0x" + bytes(receipt["transactionHash"]).hex(), TxStatus.MINED)
        return receipt

    def _journal(self, sent: SentTx) -> None:
        job_id = sent.meta.get("job_id")
        self.ledger.journal_tx(
            TxRow(
                tx_hash=sent.tx_hash,
                nonce=sent.nonce,
                action=sent.action,
                job_id=None if job_id is None else int(job_id),
                raw=sent.raw.hex(),
                status=TxStatus.PENDING,
                max_fee=sent.max_fee,
                tip=sent.tip,
                sent_at=time.time(),
            )
        )
        log.info(
            "signed tx",
            extra={"action": sent.action, "job_id": job_id, "nonce": sent.nonce, "tx_hash": sent.tx_hash},
        )

    def _settle_nonce(self, nonce: int, exc_hash: str | None, status: TxStatus, error: str = "") -> None:
        """Mark the tx that was mined for `nonce` and the other same-nonce txs as replaced."""
        rows = self.ledger.txs(nonce=nonce)
        mined = exc_hash
        if mined is None:
            mined = next((r.tx_hash for r in rows if self.sender.receipt(r.tx_hash) is not None), None)
        for row in rows:
            if row.tx_hash == mined:
                self.ledger.set_tx_status(row.tx_hash, status, error)
            elif row.status is TxStatus.PENDING:
                self.ledger.set_tx_status(row.tx_hash, TxStatus.REPLACED)

    def _recover_nonce(self, nonce: int) -> None:
        from neurolink.chain.errors import ChainError

        rows = self.ledger.txs(nonce=nonce)
        for row in rows:
            receipt = self.sender.receipt(row.tx_hash)
            if receipt is not None:
                status = TxStatus.MINED if receipt["status"] == 1 else TxStatus.REVERTED
                self._settle_nonce(nonce, row.tx_hash, status)
                log.info("recovered tx", extra={"tx_hash": row.tx_hash, "status": status.value})
                return
        # Nothing mined: re-send the latest signed bytes. A used nonce means the chain moved on without
        # any of them (e.g. a chain restarted from an older state): the caller re-checks the contract.
        latest = rows[-1]
        chain_nonce = self.sender.w3.eth.get_transaction_count(self.sender.account.address, "latest")
        if chain_nonce > nonce:
            for row in rows:
                self.ledger.set_tx_status(row.tx_hash, TxStatus.DROPPED, "nonce used by another tx")
            log.warning(
                "dropped tx", extra={"nonce": nonce, "action": latest.action, "job_id": latest.job_id}
            )
            return
        sent = _sent_from_row(latest)
        log.info(
            "re-sending journaled tx", extra={"tx_hash": sent.tx_hash, "nonce": nonce, "action": sent.action}
        )
        try:
            self._finish(sent, others=tuple(r.tx_hash for r in rows[:-1]))
        except ChainError as exc:
            log.warning("journaled tx failed", extra={"tx_hash": sent.tx_hash, "error": str(exc)})

    def outcome(self, job_id: int, action: str) -> TxStatus | None:
        """What became of this job's `action` tx: MINED, REVERTED, DROPPED, … or None if never signed."""
        rows = self.ledger.job_txs(job_id, action)
        if not rows:
            return None
        statuses = {r.status for r in rows}
        for status in (TxStatus.MINED, TxStatus.PENDING, TxStatus.REVERTED, TxStatus.DROPPED):
            if status in statuses:
                return status
        return TxStatus.REPLACED


def _sent_from_row(row: TxRow) -> SentTx:
    """The journaled bytes as a SentTx; params come from the decoded raw tx so a replacement can re-sign."""
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from eth_utils.address import to_checksum_address
    from hexbytes import HexBytes

    raw = bytes.fromhex(row.raw)
    decoded: dict[str, Any] = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
    params = {
        "to": to_checksum_address(decoded["to"]),
        "data": decoded["data"],
        "value": decoded["value"],
        "gas": decoded["gas"],
        "chainId": decoded["chainId"],
    }
    return SentTx(
        row.tx_hash, row.nonce, raw, row.max_fee, row.tip, row.action, params, {"job_id": row.job_id}
    )
