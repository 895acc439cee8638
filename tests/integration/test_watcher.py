"""The watcher on a real anvil: confirmations, a persisted cursor, dedupe, and reorganisations."""

from pathlib import Path

import pytest
from web3 import Web3

from neurolink.chain.artifacts import contract_at
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call
from node.daemon import watcher as watcher_module
from node.daemon.ledger import Ledger
from node.daemon.watcher import Watcher


def _drips(ledger: Ledger) -> list[str]:
    return [e.args["account"] for e in ledger.events("FaucetDripped")]


def test_watcher_reads_behind_confirmations_and_survives_reorgs(
    fresh_anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(DEFAULT_SOURCES, DEFAULT_OUT)
    w3: Web3 = connect(fresh_anvil.rpc_url)
    url = fresh_anvil.rpc_url
    token = contract_at(w3, "NeuroToken", TxSender(w3, dev_account(0)).deploy("NeuroToken", 0).address)
    ledger = Ledger(tmp_path / "ledger.sqlite")

    def watcher() -> Watcher:
        return Watcher(w3, ledger, [token], ["FaucetDripped", "Transfer"], confirmations=2)

    def drip(index: int) -> None:
        TxSender(w3, dev_account(index)).transact(token.functions.faucet())

    def mine(blocks: int) -> None:
        for _ in range(blocks):
            rpc_call(url, "evm_mine")

    first = watcher()
    first.start()
    mine(2)
    assert first.poll() == 1, "the deployment's zero mint (a Transfer)"
    # A drip that a 2-block reorganisation removes before it is confirmed is never recorded.
    snapshot = rpc_call(url, "evm_snapshot")
    drip(1)
    mine(1)
    assert first.poll() == 0 and _drips(ledger) == []
    assert rpc_call(url, "evm_revert", [snapshot])
    drip(2)
    mine(2)
    assert first.poll() == 2, "FaucetDripped and its Transfer, once confirmed"
    assert _drips(ledger) == [dev_account(2).address]
    assert first.lag == 2

    # A restarted watcher continues from the persisted cursor, re-reads the last N blocks, adds nothing twice.
    second = watcher()
    second.start()
    assert second.poll() == 0
    drip(3)
    mine(2)
    assert second.poll() == 2
    assert _drips(ledger) == [dev_account(2).address, dev_account(3).address]

    # A reorganisation deeper than the confirmations: the cursor's block changes hash; the watcher
    # forgets what it read above the rewound cursor and reads the canonical chain again.
    snapshot = rpc_call(url, "evm_snapshot")
    drip(4)
    mine(3)
    second.poll()
    assert dev_account(4).address in _drips(ledger)
    assert rpc_call(url, "evm_revert", [snapshot])
    drip(5)
    mine(6)
    second.poll()
    assert second.reorgs == 1
    assert _drips(ledger) == [dev_account(a).address for a in (2, 3, 5)]
    assert len(ledger.events()) == 7, "no duplicates after the rescans"

    # A fresh ledger reads the same history in many small get_logs ranges (public RPCs cap them).
    monkeypatch.setattr(watcher_module, "MAX_RANGE", 3)
    fresh = Ledger(tmp_path / "fresh.sqlite")
    Watcher(w3, fresh, [token], ["FaucetDripped", "Transfer"], confirmations=2).poll()
    assert [(e.tx_hash, e.log_index) for e in fresh.events()] == [
        (e.tx_hash, e.log_index) for e in ledger.events()
    ]
