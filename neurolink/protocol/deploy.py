"""Executes the deployment plan (neurolink.protocol.plan) with a web3 sender and binds what it made."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.protocol.contracts import Contracts
from neurolink.protocol.plan import (
    DEVNET_SUPPLY,
    DEVNET_TUNING,
    MARKET,
    STAKING,
    Arg,
    Create,
    Ref,
    Step,
    Tuning,
    steps,
)

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxReceipt

    from neurolink.chain.tx import TxSender


@dataclass(frozen=True)
class Deployed:
    """The bound contracts of an executed plan and each step's receipt, by step label."""

    contracts: Contracts
    receipts: Mapping[str, "TxReceipt"]


def execute(sender: "TxSender", plan: tuple[Step, ...]) -> Deployed:
    """Send the plan's steps in order from `sender`; a wiring its check view denies raises DeployError."""
    from neurolink.chain.errors import DeployError

    created: dict[str, Contract] = {}
    receipts: dict[str, TxReceipt] = {}

    def resolve(arg: Arg) -> str | int:
        return created[arg.contract].address if isinstance(arg, Ref) else arg

    for step in plan:
        args = [resolve(a) for a in step.args]
        if isinstance(step, Create):
            created[step.contract], receipts[step.label] = sender.deploy_with_receipt(step.contract, *args)
            continue
        contract = created[step.contract]
        receipts[step.label] = sender.transact(getattr(contract.functions, step.function)(*args))
        if step.check is not None and getattr(contract.functions, step.check)().call() != args[0]:
            raise DeployError(f"{step.contract}.{step.check}() is not {args[0]} after {step.function}")
    contracts = Contracts.of(sender.w3, job_market=created[MARKET].address, staking=created[STAKING].address)
    return Deployed(contracts, receipts)


def deploy_protocol(
    sender: "TxSender",
    *,
    token_address: str | None = None,
    treasury: str | None = None,
    tuning: Tuning | None = DEVNET_TUNING,
) -> Contracts:
    """Deploy NeuroLink owned by `sender` (a NeuroToken minted to it unless given one), tuned for a
    devnet unless told otherwise, without recording it: what the tests and benchmarks use."""
    plan = steps(
        owner=sender.address,
        treasury=treasury or sender.address,
        token=token_address,
        initial_supply=DEVNET_SUPPLY,
        tuning=tuning,
    )
    return execute(sender, plan).contracts
