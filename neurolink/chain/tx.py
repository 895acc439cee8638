"""Sends signed EIP-1559 transactions from a local account and turns reverts into decoded errors."""

from typing import TYPE_CHECKING, Any, cast

from neurolink.chain.artifacts import load_artifact
from neurolink.chain.errors import ChainError
from neurolink.chain.provider import wait_for_receipt
from neurolink.chain.revert import revert_error

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract import Contract
    from web3.contract.contract import ContractFunction
    from web3.types import TxParams, TxReceipt

GAS_MARGIN = 1.2


class TxSender:
    """Signs and sends for one account; keeps its own nonce so back-to-back sends never collide."""

    def __init__(self, w3: "Web3", account: "LocalAccount") -> None:
        self.w3 = w3
        self.account = account
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

    def send(self, params: dict[str, Any], action: str) -> "TxReceipt":
        """Estimate gas (decoding a revert), price, sign, send and wait for the receipt."""
        from web3.exceptions import ContractLogicError

        tx: dict[str, Any] = dict(params)
        tx.setdefault("from", self.account.address)
        tx.setdefault("chainId", self.w3.eth.chain_id)
        try:
            if "gas" not in tx:
                tx["gas"] = int(self.w3.eth.estimate_gas(cast("TxParams", tx)) * GAS_MARGIN)
        except ContractLogicError as exc:
            raise revert_error(action, exc.data, str(exc.message or "")) from exc
        tx.update(self._fees())
        tx["nonce"] = self._next_nonce()
        signed = self.account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception:
            self.resync()
            raise
        receipt = wait_for_receipt(self.w3, tx_hash)
        if receipt["status"] != 1:
            self._raise_replayed(tx, receipt, action)
        return receipt

    def _raise_replayed(self, tx: dict[str, Any], receipt: "TxReceipt", action: str) -> None:
        from web3.exceptions import ContractLogicError

        call = {k: v for k, v in tx.items() if k in ("from", "to", "data", "value", "gas")}
        try:
            self.w3.eth.call(cast("TxParams", call), receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            raise revert_error(action, exc.data, str(exc.message or "")) from exc
        raise revert_error(action, "", f"transaction {receipt['transactionHash'].hex()} failed")

    def transact(self, fn: "ContractFunction", value: int = 0) -> "TxReceipt":
        """Call a contract function as a transaction; a revert raises TransactionRevertedError."""
        from web3.exceptions import ContractLogicError

        action = fn.fn_name
        # gas=0 stops build_transaction from estimating; send() estimates and decodes reverts.
        params = cast("TxParams", {"from": self.account.address, "value": value, "gas": 0})
        try:
            tx = fn.build_transaction(params)
        except ContractLogicError as exc:
            raise revert_error(action, exc.data, str(exc.message or "")) from exc
        return self.send({"to": tx["to"], "data": tx["data"], "value": value}, action)

    def deploy(self, name: str, *args: Any) -> "Contract":
        """Deploy the artifact `name` with constructor `args`; returns the bound contract."""
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        receipt = self.send({"data": data, "value": 0}, f"deploy {name}")
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploy {name}: receipt has no contract address")
        return self.w3.eth.contract(address=address, abi=artifact["abi"])
