"""The node's only signer: journals each signed tx before broadcast, then follows it across daemon ticks."""

import logging
import time
from typing import TYPE_CHECKING, Any

from neurolink.chain.errors import NonceConflictError, TransactionRevertedError
from neurolink.chain.tx import SentTx, TxSender
from node.daemon.crash import crash_point
from node.daemon.ledger import Ledger, TxRow, TxStatus

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract.contract import ContractFunction
    from web3.types import TxReceipt

log = logging.getLogger(__name__)

# How far back a reorganisation is assumed to reach for txs of no job (withdraws): far beyond the
# watcher's window of kept blocks on any chain, without asking for the receipt of every old one.
RECHECK_NO_JOB_S = 6 * 3600


class Submitter:
    """Sends contract calls for one account without waiting: `send` signs, journals and broadcasts;
    `poll` (every daemon tick) follows every PENDING journal row to its receipt, re-broadcasts what the
    node lost, replaces what is stuck, and notices a nonce taken by another signer.
    """

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
        self.replace_after = replace_after
        self.receipt_timeout = receipt_timeout
        self.sender = TxSender(w3, account, on_signed=self._journal, replace_after=replace_after)
        # Nonces already reported overdue (one warning each).
        self._overdue: set[int] = set()

    @property
    def address(self) -> str:
        return self.sender.address

    def start(self) -> None:
        """Settle what the journal left open (re-send pending txs with the same bytes, learn outcomes)."""
        self.sender.resync()
        self.poll()

    def stop(self) -> None:
        """Nothing to release: the journal is on disk and `start` picks up every PENDING row."""

    def send(
        self,
        fn: "ContractFunction",
        *,
        action: str,
        job_id: int | None = None,
        value: int = 0,
        extra_gas: int = 0,
        gas: int | None = None,
    ) -> SentTx:
        """Sign, journal and broadcast; returns at once (`poll` follows the tx).

        A call that reverts in estimation raises TransactionRevertedError with the decoded error and
        signs nothing; a broadcast that fails for want of a node leaves the row PENDING for `poll`.
        A fixed `gas` limit skips the estimate.
        """
        params = self.sender.build(fn, value)
        if gas is not None:
            params["gas"] = gas
        sent = self.sender.sign(params, action, meta={"job_id": job_id}, extra_gas=extra_gas)
        self._hand_over(sent)
        crash_point(f"after-{action}-sent")
        return sent

    def poll(self) -> None:
        """Follow every PENDING transaction one step: record receipts, re-broadcast, replace, drop."""
        for nonce in sorted({tx.nonce for tx in self.ledger.txs(status=TxStatus.PENDING)}):
            self._follow(nonce)

    def recheck(self, job_ids: set[int]) -> None:
        """After a reorganisation: a MINED or REVERTED tx of these jobs (or a recent one of no job, such
        as a withdraw) whose receipt is gone is PENDING again, so `poll` follows it (and re-sends it if
        the node lost it)."""
        recent = time.time() - RECHECK_NO_JOB_S
        for row in self.ledger.txs():
            if row.status not in (TxStatus.MINED, TxStatus.REVERTED):
                continue
            ours = row.job_id in job_ids if row.job_id is not None else row.sent_at > recent
            if ours and self.sender.receipt(row.tx_hash) is None:
                self.ledger.set_tx_status(row.tx_hash, TxStatus.PENDING)
                log.warning("receipt undone by a reorganisation", extra={"tx_hash": row.tx_hash})

    # -- what the daemon asks ---------------------------------------------------------------------

    def outcome(self, job_id: int | None, action: str) -> TxStatus | None:
        """What became of this job's `action` tx: MINED, PENDING, REVERTED, … or None if never signed."""
        rows = self.ledger.job_txs(job_id, action)
        if not rows:
            return None
        statuses = {r.status for r in rows}
        for status in (TxStatus.MINED, TxStatus.PENDING, TxStatus.REVERTED, TxStatus.DROPPED):
            if status in statuses:
                return status
        return TxStatus.REPLACED

    def pending(self, job_id: int | None, action: str) -> bool:
        """Whether a tx for this job's `action` is still in flight (whatever earlier ones became)."""
        return any(r.status is TxStatus.PENDING for r in self.ledger.job_txs(job_id, action))

    def reverts(self, job_id: int | None, action: str) -> list[str]:
        """The decoded errors of this job's `action` txs that were mined and reverted, oldest first."""
        return [r.error for r in self.ledger.job_txs(job_id, action) if r.status is TxStatus.REVERTED]

    # -- following one nonce ----------------------------------------------------------------------

    def _hand_over(self, sent: SentTx) -> None:
        try:
            self.sender.broadcast(sent)
        except NonceConflictError as exc:
            self._drop(sent.nonce, str(exc))
            log.error("nonce conflict", extra={"nonce": sent.nonce, "action": sent.action, "error": str(exc)})

    def _follow(self, nonce: int) -> None:
        rows = self.ledger.txs(nonce=nonce)
        if self._settled(nonce, rows):
            return
        pending = [r for r in rows if r.status is TxStatus.PENDING]
        latest = pending[-1]
        w3 = self.sender.w3
        if w3.eth.get_transaction_count(self.sender.account.address, "latest") > nonce:
            # One of ours may have been mined between the receipt reads and the count: ask again
            # before calling the nonce another signer's.
            if self._settled(nonce, rows):
                return
            # The nonce is spent but by none of our signatures: another signer, or a chain restarted
            # from an older state. The daemon re-checks the contract and sends again if still needed.
            self._drop(nonce, "nonce used by another transaction")
            return
        if not self._known(latest.tx_hash):
            # Journaled but never handed over (a crash in between), or gone from the node's pool
            # (dropped, a restarted chain): the same bytes again, which keeps every later nonce moving.
            log.info("re-sending journaled tx", extra={"tx_hash": latest.tx_hash, "nonce": nonce})
            self._hand_over(_sent_from_row(latest))
            return
        now = time.time()
        if self.replace_after is not None and now - latest.sent_at >= self.replace_after:
            replacement = self.sender.replace(_sent_from_row(latest))
            log.info("replacing stuck tx", extra={"nonce": nonce, "tx_hash": replacement.tx_hash})
            self._hand_over(replacement)
            self.sender.resync()
        if now - rows[0].sent_at > self.receipt_timeout and nonce not in self._overdue:
            self._overdue.add(nonce)
            self.sender.resync()
            log.warning(
                "transaction overdue",
                extra={"nonce": nonce, "action": latest.action, "job_id": latest.job_id, "sigs": len(rows)},
            )

    def _settled(self, nonce: int, rows: list[TxRow]) -> bool:
        """Record the outcome of whichever of `rows` has a receipt; False if none has one yet."""
        for row in rows:
            receipt = self.sender.receipt(row.tx_hash)
            if receipt is not None:
                self._settle(nonce, row, receipt)
                return True
        return False

    def _known(self, tx_hash: str) -> bool:
        from web3.exceptions import TransactionNotFound

        try:
            return self.sender.w3.eth.get_transaction(tx_hash) is not None  # type: ignore[arg-type]
        except TransactionNotFound:
            return False

    def _settle(self, nonce: int, mined: TxRow, receipt: "TxReceipt") -> None:
        """Record `mined`'s outcome (a revert with its decoded error); its same-nonce twins were replaced."""
        status, error = TxStatus.MINED, ""
        if receipt["status"] != 1:
            status = TxStatus.REVERTED
            try:
                self.sender.raise_replayed(_sent_from_row(mined).params, receipt, mined.action)
            except TransactionRevertedError as exc:
                error = exc.error_name or str(exc)
        for row in self.ledger.txs(nonce=nonce):
            if row.tx_hash == mined.tx_hash:
                self.ledger.set_tx_status(row.tx_hash, status, error)
            elif row.status is TxStatus.PENDING:
                self.ledger.set_tx_status(row.tx_hash, TxStatus.REPLACED)
        self._overdue.discard(nonce)
        log.info(
            "tx mined" if status is TxStatus.MINED else "tx reverted",
            extra={"action": mined.action, "job_id": mined.job_id, "tx_hash": mined.tx_hash, "error": error},
        )

    def _drop(self, nonce: int, reason: str) -> None:
        for row in self.ledger.txs(nonce=nonce, status=TxStatus.PENDING):
            self.ledger.set_tx_status(row.tx_hash, TxStatus.DROPPED, reason)
        self._overdue.discard(nonce)
        self.sender.resync()
        log.warning("dropped tx", extra={"nonce": nonce, "reason": reason})

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


def _sent_from_row(row: TxRow) -> SentTx:
    """The journaled bytes as a SentTx; params come from the decoded raw tx so a replacement can re-sign."""
    from eth_account import Account
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from eth_utils.address import to_checksum_address
    from hexbytes import HexBytes

    raw = bytes.fromhex(row.raw)
    decoded: dict[str, Any] = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
    params = {
        "from": Account.recover_transaction(raw),
        "to": to_checksum_address(decoded["to"]),
        "data": decoded["data"],
        "value": decoded["value"],
        "gas": decoded["gas"],
        "chainId": decoded["chainId"],
    }
    return SentTx(
        row.tx_hash, row.nonce, raw, row.max_fee, row.tip, row.action, params, {"job_id": row.job_id}
    )
