"""Sends signed EIP-1559 transactions from a local account and turns reverts into decoded errors."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from neurolink.chain.artifacts import load_artifact
from neurolink.chain.errors import (
    ChainError,
    InsufficientFundsError,
    NonceConflictError,
    TransactionTimeoutError,
)
from neurolink.chain.provider import poll_latency, wait_for_receipt
from neurolink.chain.revert import logic_error, revert_error

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract import Contract
    from web3.contract.contract import ContractFunction
    from web3.types import TxParams, TxReceipt

GAS_MARGIN = 1.2
# Nodes (geth, anvil) accept a same-nonce replacement only if both fees rise by at least 10%.
REPLACEMENT_BUMP = 1.125
# How often a transaction is re-priced when the node refuses its fees at broadcast.
MAX_REPRICES = 4
# Node answers meaning "these exact bytes are already taken care of".
KNOWN_MARKERS = ("already known", "already imported")
# Node answers meaning "a transaction with this nonce is already mined": ours (a re-broadcast after a
# restart) only if its hash has a receipt; otherwise another signer used the account.
NONCE_USED_MARKERS = ("nonce too low", "nonce is too low", "oldnonce")
# Node answers meaning "the fees are below what the next block needs".
UNDERPRICED_MARKERS = ("underpriced", "less than block base fee", "fee too low")
# Node answers meaning "the sender's ETH does not cover gas * price + value".
FUNDS_MARKERS = ("insufficient funds",)


@dataclass(frozen=True)
class SentTx:
    """A signed transaction as handed to the network: enough to re-broadcast or replace it."""

    tx_hash: str
    nonce: int
    raw: bytes
    max_fee: int
    tip: int
    action: str
    params: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)


class TxSender:
    """Signs and sends for one account; keeps its own nonce so back-to-back sends never collide.

    `on_signed` sees every signed transaction before it is broadcast (a journal writes it to disk, so a
    restart can re-send the same bytes); `replace_after` re-signs a transaction that is not mined in
    that many seconds with the same nonce and bumped fees.
    """

    def __init__(
        self,
        w3: "Web3",
        account: "LocalAccount",
        *,
        on_signed: Callable[[SentTx], None] | None = None,
        replace_after: float | None = None,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.on_signed = on_signed
        self.replace_after = replace_after
        self.receipt_timeout = receipt_timeout
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def resync(self) -> None:
        """Forget the cached nonce (after a failed send or a restart of the chain)."""
        self._nonce = None

    def _fees(self) -> dict[str, int]:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
        tip = self.w3.to_wei(1, "gwei")
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def send(
        self, params: dict[str, Any], action: str, *, meta: Mapping[str, Any] | None = None
    ) -> "TxReceipt":
        """Estimate gas (decoding a revert), price, sign, send and wait for the receipt."""
        sent = self.broadcast(self.sign(params, action, meta=meta))
        return self.wait(sent)

    def sign(
        self,
        params: dict[str, Any],
        action: str,
        *,
        meta: Mapping[str, Any] | None = None,
        nonce: int | None = None,
        fees: Mapping[str, int] | None = None,
        extra_gas: int = 0,
    ) -> SentTx:
        """Estimate gas, price and sign the next transaction; `on_signed` journals it.

        `extra_gas` covers work the estimate cannot see: a call whose cost depends on transactions
        mined before it (the reveal that completes a round also settles the job).
        """
        from web3.exceptions import ContractLogicError

        tx: dict[str, Any] = dict(params)
        tx.setdefault("from", self.account.address)
        tx.setdefault("chainId", self.w3.eth.chain_id)
        try:
            if "gas" not in tx:
                # Against the pending block: the one the transaction lands in (a claim needs a block
                # after its job's creation block, which "latest" may still be).
                estimate = self.w3.eth.estimate_gas(cast("TxParams", tx), "pending")
                tx["gas"] = int(estimate * GAS_MARGIN) + extra_gas
        except ContractLogicError as exc:
            raise logic_error(action, exc) from exc
        tx.update(fees or self._fees())
        tx["nonce"] = self._next_nonce() if nonce is None else nonce
        signed = self.account.sign_transaction(tx)
        sent = SentTx(
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=tx["nonce"],
            raw=bytes(signed.raw_transaction),
            max_fee=tx["maxFeePerGas"],
            tip=tx["maxPriorityFeePerGas"],
            action=action,
            params={
                k: v for k, v in tx.items() if k not in ("maxFeePerGas", "maxPriorityFeePerGas", "nonce")
            },
            meta=dict(meta or {}),
        )
        if self.on_signed is not None:
            self.on_signed(sent)
        return sent

    def broadcast(self, sent: SentTx) -> SentTx:
        """Hand the signed bytes to the node; returns what it took.

        That is `sent`, also when the node already has it or its nonce is used (a re-broadcast after a
        restart), or a same-nonce copy with higher fees when the node refused `sent`'s fees because the
        base fee rose since it was signed.
        """
        from web3.exceptions import Web3RPCError

        for _ in range(MAX_REPRICES):
            try:
                self.w3.eth.send_raw_transaction(sent.raw)
            except (ValueError, Web3RPCError) as exc:
                text = str(exc).lower()
                if any(marker in text for marker in KNOWN_MARKERS):
                    return sent
                if any(marker in text for marker in FUNDS_MARKERS):
                    self.resync()
                    raise self._unfunded(sent) from exc
                if any(marker in text for marker in NONCE_USED_MARKERS):
                    self.resync()
                    if self.receipt(sent.tx_hash) is not None:
                        return sent
                    raise NonceConflictError(
                        f"{sent.action}: nonce {sent.nonce} of {self.address} was used by another"
                        " transaction (is a second program signing for this account?)"
                    ) from exc
                if not any(marker in text for marker in UNDERPRICED_MARKERS):
                    self.resync()
                    raise
                sent = self.replace(sent)
                continue
            except Exception:
                self.resync()
                raise
            return sent
        self.resync()
        raise ChainError(
            f"{sent.action}: the node refused nonce {sent.nonce} as underpriced {MAX_REPRICES} times"
        )

    def _unfunded(self, sent: SentTx) -> InsufficientFundsError:
        balance = int(self.w3.eth.get_balance(self.account.address))
        need = int(sent.params.get("gas", 0)) * sent.max_fee + int(sent.params.get("value", 0))
        return InsufficientFundsError(
            f"{sent.action}: account {self.account.address} holds {balance / 10**18:.6f} ETH, "
            f"up to {need / 10**18:.6f} ETH needed for gas; fund it first "
            f"(on a devnet: neurolink devnet fund {self.account.address})"
        )

    def replace(self, sent: SentTx) -> SentTx:
        """Re-sign `sent` with the same nonce and fees raised past the replacement threshold."""
        market = self._fees()
        tip = max(int(sent.tip * REPLACEMENT_BUMP) + 1, market["maxPriorityFeePerGas"])
        max_fee = max(int(sent.max_fee * REPLACEMENT_BUMP) + 1, market["maxFeePerGas"], tip)
        params = dict(sent.params)
        return self.sign(
            params,
            sent.action,
            meta=sent.meta,
            nonce=sent.nonce,
            fees={"maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip},
        )

    def receipt(self, tx_hash: str) -> "TxReceipt | None":
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def wait(self, sent: SentTx, *, others: tuple[str, ...] = ()) -> "TxReceipt":
        """The receipt of `sent` (or of a same-nonce replacement of it); replaces it when stuck."""
        if self.replace_after is None and not others:
            receipt = wait_for_receipt(self.w3, bytes.fromhex(sent.tx_hash[2:]), self.receipt_timeout)
        else:
            receipt = self._wait_replacing(sent, others)
        if receipt["status"] != 1:
            self.raise_replayed(dict(sent.params), receipt, sent.action)
        return receipt

    def _wait_replacing(self, sent: SentTx, others: tuple[str, ...]) -> "TxReceipt":
        hashes = [*others, sent.tx_hash]
        latest = sent
        deadline = time.monotonic() + self.receipt_timeout
        next_bump = time.monotonic() + (self.replace_after or self.receipt_timeout)
        poll = poll_latency(self.w3)
        while time.monotonic() < deadline:
            for tx_hash in hashes:
                if (receipt := self.receipt(tx_hash)) is not None:
                    return receipt
            if self.replace_after is not None and time.monotonic() >= next_bump:
                latest = self.broadcast(self.replace(latest))
                hashes.append(latest.tx_hash)
                next_bump = time.monotonic() + self.replace_after
            time.sleep(poll)
        raise TransactionTimeoutError(
            f"{sent.action}: nonce {sent.nonce} not mined in {self.receipt_timeout:.0f}s"
            f" ({len(hashes)} signatures)"
        )

    def raise_replayed(self, tx: Mapping[str, Any], receipt: "TxReceipt", action: str) -> None:
        """Raise the decoded error of the reverted `receipt` by replaying `tx` on the state before its
        block, then (when a tx mined before it in the same block made it fail) on the state after it."""
        from web3.exceptions import ContractLogicError, Web3RPCError

        call = {k: v for k, v in tx.items() if k in ("from", "to", "data", "value", "gas")}
        for block in (receipt["blockNumber"] - 1, receipt["blockNumber"]):
            try:
                self.w3.eth.call(cast("TxParams", call), block)
            except ContractLogicError as exc:
                raise logic_error(action, exc) from exc
            except Web3RPCError as exc:
                # The node names failures that are not reverts (out of gas, for one) only in its message.
                raise revert_error(action, "", str(exc.message or exc)) from exc
        raise revert_error(action, "", f"transaction {receipt['transactionHash'].hex()} failed")

    def transact(
        self, fn: "ContractFunction", value: int = 0, *, meta: Mapping[str, Any] | None = None
    ) -> "TxReceipt":
        """Call a contract function as a transaction; a revert raises TransactionRevertedError."""
        return self.send(self.build(fn, value), fn.fn_name, meta=meta)

    def build(self, fn: "ContractFunction", value: int = 0) -> dict[str, Any]:
        """The `to`/`data`/`value` of a contract call, decoding a revert raised while building it."""
        from web3.exceptions import ContractLogicError

        # gas=0 stops build_transaction from estimating, and fees given stop it from asking for them:
        # sign() estimates (decoding reverts) and prices.
        params = cast(
            "TxParams",
            {
                "from": self.account.address,
                "value": value,
                "gas": 0,
                "maxFeePerGas": 0,
                "maxPriorityFeePerGas": 0,
            },
        )
        try:
            tx = fn.build_transaction(params)
        except ContractLogicError as exc:
            raise logic_error(fn.fn_name, exc) from exc
        return {"to": tx["to"], "data": tx["data"], "value": value}

    def deploy(self, name: str, *args: Any) -> "Contract":
        """Deploy the artifact `name` with constructor `args`; returns the bound contract."""
        return self.deploy_with_receipt(name, *args)[0]

    def deploy_with_receipt(self, name: str, *args: Any) -> tuple["Contract", "TxReceipt"]:
        """Deploy like `deploy`, also returning the receipt (tx hash, block) for the record."""
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        receipt = self.send({"data": data, "value": 0}, f"deploy {name}")
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploy {name}: receipt has no contract address")
        return self.w3.eth.contract(address=address, abi=artifact["abi"]), receipt
