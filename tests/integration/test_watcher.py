"""The watcher on a real anvil: confirmations, a persisted cursor, dedupe, and reorganisations."""

from pathlib import Path

import pytest
from web3 import Web3

from neurolink.chain import watcher as watcher_module
from neurolink.chain.artifacts import contract_at
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.chain.watcher import Watcher
from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call
from node.daemon.ledger import Ledger


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


@pytest.fixture
def dripper(fresh_anvil: Anvil) -> tuple[Web3, "object", str]:
    build(DEFAULT_SOURCES, DEFAULT_OUT)
    w3: Web3 = connect(fresh_anvil.rpc_url)
    token = contract_at(w3, "NeuroToken", TxSender(w3, dev_account(0)).deploy("NeuroToken", 0).address)
    return w3, token, fresh_anvil.rpc_url


def test_a_reorg_during_the_log_read_is_not_recorded(
    dripper: tuple[Web3, object, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain reorganises right after get_logs answered: those logs belong to a dead branch. The old
    watcher read the cursor's hash after get_logs, so it stored the new branch's hash over the dead
    branch's events and never looked back."""
    w3, token, url = dripper
    ledger = Ledger(tmp_path / "ledger.sqlite")
    watcher = Watcher(w3, ledger, [token], ["FaucetDripped"])  # devnet: no confirmations
    watcher.poll()
    snapshot = rpc_call(url, "evm_snapshot")
    TxSender(w3, dev_account(1)).transact(token.functions.faucet())  # type: ignore[attr-defined]
    real_read = Watcher._read
    reorged: list[bool] = []

    def read_then_reorg(self: Watcher, first: int, last: int) -> list:  # type: ignore[type-arg]
        rows = real_read(self, first, last)
        if not reorged:
            reorged.append(True)
            assert rpc_call(url, "evm_revert", [snapshot])
            TxSender(w3, dev_account(2)).transact(token.functions.faucet())  # type: ignore[attr-defined]
        return rows

    monkeypatch.setattr(Watcher, "_read", read_then_reorg)
    watcher.poll()
    watcher.poll()
    assert _drips(ledger) == [dev_account(2).address], "only the canonical branch's drip"


def test_a_reorg_deeper_than_any_fixed_rewind_is_found_at_its_fork(
    dripper: tuple[Web3, object, str], tmp_path: Path
) -> None:
    """A 30-block reorganisation: the watcher finds the fork among its kept block hashes, forgets the
    dead branch's events however deep, and hands their job ids to the daemon (here: none)."""
    w3, token, url = dripper
    ledger = Ledger(tmp_path / "ledger.sqlite")
    watcher = Watcher(w3, ledger, [token], ["FaucetDripped"], confirmations=2)
    snapshot = rpc_call(url, "evm_snapshot")
    fork_block = w3.eth.block_number
    TxSender(w3, dev_account(3)).transact(token.functions.faucet())  # type: ignore[attr-defined]
    for _ in range(30):
        rpc_call(url, "evm_mine")
        watcher.poll()
    assert _drips(ledger) == [dev_account(3).address]
    assert watcher.take_reorged() is None
    assert rpc_call(url, "evm_revert", [snapshot])
    for _ in range(29):
        rpc_call(url, "evm_mine")
    TxSender(w3, dev_account(4)).transact(token.functions.faucet())  # type: ignore[attr-defined]
    rpc_call(url, "evm_mine")
    rpc_call(url, "evm_mine")
    watcher.poll()
    assert _drips(ledger) == [dev_account(4).address]
    assert watcher.take_reorged() == set() and watcher.reorgs == 1
    assert ledger.cursor() == w3.eth.block_number - 2
    assert max(n for n, _ in ledger.known_blocks()) == ledger.cursor()
    assert fork_block in {n for n, _ in ledger.known_blocks()}


def test_finality_follows_the_safe_tag_off_devnet_and_is_immediate_on_devnet(tmp_path: Path) -> None:
    """Without configured confirmations: on a devnet id the head is trusted; on another chain id the
    RPC's `safe` block (anvil's trails the head by an epoch) decides, never the head."""
    from neurolink.chain.finality import Finality, default_confirmations
    from neurolink.devnet.anvil import start_anvil

    build(DEFAULT_SOURCES, DEFAULT_OUT)
    assert default_confirmations(31337) == 0 and default_confirmations(1) > 0
    assert default_confirmations(11155111) > 0
    for chain_id, read_at_once in ((31337, True), (11155111, False)):
        with start_anvil(chain_id=chain_id) as node:
            w3 = connect(node.rpc_url)
            deployed = TxSender(w3, dev_account(0)).deploy("NeuroToken", 0)
            token = contract_at(w3, "NeuroToken", deployed.address)
            TxSender(w3, dev_account(1)).transact(token.functions.approve(token.address, 1))
            ledger = Ledger(tmp_path / f"{chain_id}.sqlite")
            watcher = Watcher(w3, ledger, [token], ["Approval"])
            watcher.poll()
            assert bool(ledger.events("Approval")) is read_at_once, chain_id
            safe = Finality(w3).safe_block(w3.eth.block_number)
            assert safe == w3.eth.block_number if read_at_once else safe < w3.eth.block_number
            if not read_at_once:
                for _ in range(80):
                    rpc_call(node.rpc_url, "evm_mine")
                watcher.poll()
                assert len(ledger.events("Approval")) == 1, "read once the safe block passed it"
