"""Deploys token, Staking and JobMarket, wires them, checks the code landed and records the result."""

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from neurolink.chain.artifacts import load_artifact
from neurolink.chain.deployments import (
    DEVNET_CHAIN_IDS,
    ContractRecord,
    Deployment,
    check_not_mainnet,
    code_hash,
    find,
    missing_code,
    network_name,
    save,
)
from neurolink.chain.errors import DeployError, DeploymentRefusedError
from neurolink.protocol.deploy import execute
from neurolink.protocol.plan import (
    DEFAULT_INITIAL_SUPPLY,
    MARKET,
    STAKING,
    TOKEN,
    Call,
    Ref,
    Step,
    Tuning,
    steps,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxParams, TxReceipt

    from neurolink.config import Settings

# An owner call cannot be estimated before its contract exists: a few storage writes and an event.
WIRING_GAS_ALLOWANCE = 80_000
EMPTY_CODE_HASH = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@dataclass(frozen=True)
class PlannedTx:
    """One transaction of the deployment and the gas it is expected to use."""

    label: str
    gas: int
    estimated: bool  # False: an allowance, not an eth_estimateGas answer


@dataclass(frozen=True)
class CostEstimate:
    """What a deployment will cost the deployer before anything is sent."""

    chain_id: int
    deployer: str
    txs: tuple[PlannedTx, ...]
    expected_fee_per_gas: int
    max_fee_per_gas: int
    balance: int

    @property
    def gas(self) -> int:
        return sum(t.gas for t in self.txs)

    @property
    def expected_cost(self) -> int:
        return self.gas * self.expected_fee_per_gas

    @property
    def max_cost(self) -> int:
        return self.gas * self.max_fee_per_gas

    @property
    def affordable(self) -> bool:
        return self.balance >= self.max_cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "txs": [{"label": t.label, "gas": t.gas, "estimated": t.estimated} for t in self.txs],
            "gas": self.gas,
            "expected_cost_wei": self.expected_cost,
            "max_cost_wei": self.max_cost,
            "balance_wei": self.balance,
            "affordable": self.affordable,
        }


@dataclass(frozen=True)
class DeployOptions:
    """What to deploy: an existing ERC-20 or a fresh NeuroToken, who owns it, where fees go."""

    token: str | None = None
    initial_supply: int = DEFAULT_INITIAL_SUPPLY
    # The deployer owns both contracts (it must call setJobMarket); hand over with transferOwnership.
    treasury: str | None = None  # where protocol fees go; default: the deployer
    allow_mainnet: bool = False
    force: bool = False  # replace a recorded deployment whose code is still on chain
    tuning: Tuning | None = None  # JobMarket settings off the contract's defaults (devnets only)

    def plan(self, w3: "Web3", deployer: str) -> tuple[Step, ...]:
        owner = w3.to_checksum_address(deployer)
        return steps(
            owner=owner,
            treasury=w3.to_checksum_address(self.treasury or owner),
            token=self.token,
            initial_supply=self.initial_supply,
            tuning=self.tuning,
        )


def _create_address(sender: str, nonce: int) -> str:
    """The address CREATE gives the `nonce`-th contract of `sender`: keccak(rlp([sender, nonce]))[12:]."""
    from eth_utils.address import to_checksum_address
    from eth_utils.crypto import keccak

    raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    encoded_nonce = raw if len(raw) == 1 and raw[0] < 0x80 else bytes([0x80 + len(raw)]) + raw
    body = bytes([0x94]) + bytes.fromhex(sender[2:]) + encoded_nonce
    return to_checksum_address(keccak(bytes([0xC0 + len(body)]) + body)[12:])


def _constructor_data(w3: "Web3", name: str, *args: Any) -> str:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    return str(factory.constructor(*args).data_in_transaction)


def _estimate_create(w3: "Web3", sender: str, label: str, data: str) -> PlannedTx:
    from web3.exceptions import Web3Exception

    try:
        gas = w3.eth.estimate_gas(cast("TxParams", {"from": sender, "data": data}))
        return PlannedTx(label, gas, estimated=True)
    except (Web3Exception, ValueError):
        # The constructor calls a contract that does not exist yet: bound it by the code size.
        size = len(bytes.fromhex(data[2:]))
        return PlannedTx(label, 53_000 + 16 * size + 200 * size, estimated=False)


def estimate(w3: "Web3", deployer: str, options: DeployOptions) -> CostEstimate:
    """Gas of every transaction the deployment sends, priced at the current base fee."""
    nonce = int(w3.eth.get_transaction_count(w3.to_checksum_address(deployer), "pending"))
    created: dict[str, str] = {}
    txs: list[PlannedTx] = []
    for step in options.plan(w3, deployer):
        if isinstance(step, Call):
            txs.append(PlannedTx(step.label, WIRING_GAS_ALLOWANCE, estimated=False))
            continue
        args = [created[a.contract] if isinstance(a, Ref) else a for a in step.args]
        data = _constructor_data(w3, step.contract, *args)
        txs.append(_estimate_create(w3, deployer, step.label, data))
        created[step.contract] = _create_address(deployer, nonce)
        nonce += 1
    base = w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
    tip = w3.to_wei(1, "gwei")
    return CostEstimate(
        chain_id=w3.eth.chain_id,
        deployer=deployer,
        txs=tuple(txs),
        expected_fee_per_gas=base + tip,
        max_fee_per_gas=2 * base + tip,
        balance=w3.eth.get_balance(w3.to_checksum_address(deployer)),
    )


def existing(w3: "Web3", settings: "Settings") -> Deployment | None:
    """The recorded deployment of this chain if its code is still there; None if absent or stale."""
    recorded = find(w3.eth.chain_id, settings)
    if recorded is None or missing_code(w3, recorded):
        return None
    return recorded


def check_token(w3: "Web3", address: str) -> None:
    """An existing token must be a contract that answers ERC-20's totalSupply and decimals."""
    from web3.exceptions import Web3Exception

    checksum = w3.to_checksum_address(address)
    if code_hash(w3, checksum) == EMPTY_CODE_HASH:
        raise DeploymentRefusedError(f"--token {checksum}: no contract at that address on this chain")
    token = w3.eth.contract(address=checksum, abi=load_artifact(TOKEN)["abi"])
    try:
        token.functions.totalSupply().call()
        token.functions.decimals().call()
    except (Web3Exception, ValueError) as exc:
        raise DeploymentRefusedError(f"--token {checksum} does not answer as an ERC-20: {exc}") from exc


def _artifact_sha256(name: str) -> str:
    return hashlib.sha256(load_artifact(name)["bytecode"].encode()).hexdigest()


def _record(w3: "Web3", name: str, address: str, receipt: "TxReceipt | None") -> ContractRecord:
    landed = code_hash(w3, address)
    if landed == EMPTY_CODE_HASH:
        raise DeployError(f"{name} at {address}: eth_getCode is empty after the deploy transaction")
    return ContractRecord(
        name=name,
        address=w3.to_checksum_address(address),
        tx_hash=("0x" + receipt["transactionHash"].hex().removeprefix("0x")) if receipt else None,
        block=receipt["blockNumber"] if receipt else None,
        artifact_sha256=_artifact_sha256(name) if receipt else None,
        code_hash=landed,
    )


def deploy(
    w3: "Web3", account: "LocalAccount", settings: "Settings", options: DeployOptions
) -> tuple[Deployment, bool]:
    """Deploy (or find) NeuroLink on the chain behind `w3`; returns (deployment, newly_deployed)."""
    from neurolink.chain.tx import TxSender

    chain_id = w3.eth.chain_id
    check_not_mainnet(chain_id, options.allow_mainnet)
    if (found := existing(w3, settings)) is not None and not options.force:
        return found, False
    if options.token is not None:
        check_token(w3, options.token)
    if options.token is None and chain_id not in DEVNET_CHAIN_IDS and options.initial_supply == 0:
        raise DeploymentRefusedError(
            "a fresh NeuroToken with no initial supply is useless off a devnet (its faucet is devnet-only)"
        )
    if options.tuning is not None and chain_id not in DEVNET_CHAIN_IDS:
        raise DeploymentRefusedError(f"devnet tuning refused on chain {chain_id} (not a devnet)")
    sender = TxSender(w3, account)
    start_block = w3.eth.block_number
    done = execute(sender, options.plan(w3, sender.address))
    contracts = done.contracts

    def record(name: str, address: str, label: str) -> ContractRecord:
        return _record(w3, name, address, done.receipts.get(label))

    token = (
        record(TOKEN, contracts.token.address, f"deploy {TOKEN}")
        if options.token is None
        else record("ERC20", contracts.token.address, "")
    )
    staking = record(STAKING, contracts.staking.address, f"deploy {STAKING}")
    first = token.block if token.block is not None else staking.block
    deployment = Deployment(
        chain_id=chain_id,
        network=network_name(chain_id),
        deployer=sender.address,
        deploy_block=first if first is not None else start_block,
        deployed_at=int(time.time()),
        token=token,
        staking=staking,
        job_market=record(MARKET, contracts.market.address, f"deploy {MARKET}"),
        setup_tx_hashes={
            label.split(".")[-1]: "0x" + receipt["transactionHash"].hex().removeprefix("0x")
            for label, receipt in done.receipts.items()
            if not label.startswith("deploy ")
        },
    )
    save(deployment, settings)
    return deployment, True
