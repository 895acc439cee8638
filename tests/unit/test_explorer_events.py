"""The explorer's event table covers the contracts' events: a new protocol event is a conscious entry."""

import pytest

from coordinator.explorer.projection import EVENTS, IGNORED
from neurolink.chain.artifacts import load_artifact


@pytest.mark.parametrize("contract", ["JobMarket", "Staking"])
def test_every_event_of_the_contract_is_indexed_or_ignored_on_purpose(contract: str) -> None:
    names = {e["name"] for e in load_artifact(contract)["abi"] if e["type"] == "event"}
    ours = {name for name, spec in EVENTS.items() if spec.contract == contract}
    assert names - ours - IGNORED == set(), "add an EventSpec to coordinator/explorer/projection.py"
    assert ours <= names, "an EventSpec names an event the contract does not emit"


def test_every_account_argument_is_an_argument_of_its_event() -> None:
    abis = {c: load_artifact(c)["abi"] for c in ("JobMarket", "Staking")}
    for name, spec in EVENTS.items():
        if spec.account_arg is not None:
            (event,) = [e for e in abis[spec.contract] if e["type"] == "event" and e["name"] == name]
            assert spec.account_arg in {i["name"] for i in event["inputs"]}, name
