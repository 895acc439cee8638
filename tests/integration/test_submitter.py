"""The node's submitter on a real anvil: write-ahead journal, non-blocking sends followed across polls,
stuck-tx replacement, resend after a crash or a dropped tx, and a nonce taken by a second signer."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from neurolink.chain.errors import TransactionRevertedError
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call
from node.daemon.ledger import Ledger, TxStatus
from node.daemon.submitter import Submitter


def follow(submitter: Submitter, job_id: int, action: str = "faucet", timeout: float = 30) -> TxStatus:
    """Poll `submitter` (as the daemon's ticks do) until the job's tx is no longer pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        submitter.poll()
        outcome = submitter.outcome(job_id, action)
        if outcome is not TxStatus.PENDING:
            assert outcome is not None
            return outcome
        time.sleep(0.02)
    raise AssertionError(f"job {job_id}'s {action} still pending after {timeout}s")


@pytest.fixture
def chain(fresh_anvil: Anvil) -> Iterator[tuple[Web3, str]]:
    from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build

    build(DEFAULT_SOURCES, DEFAULT_OUT)
    w3 = connect(fresh_anvil.rpc_url)
    token = TxSender(w3, dev_account(0)).deploy("NeuroToken", 0)
    yield w3, token.address


def test_send_is_journaled_and_reverts_are_decoded(chain: tuple[Web3, str], tmp_path: Path) -> None:
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    submitter = Submitter(w3, dev_account(3), ledger)
    sent = submitter.send(token.functions.faucet(), action="faucet", job_id=7)
    assert follow(submitter, 7) is TxStatus.MINED
    rows = ledger.job_txs(7, "faucet")
    assert [(r.tx_hash, r.status) for r in rows] == [(sent.tx_hash, TxStatus.MINED)]
    with pytest.raises(TransactionRevertedError) as info:
        submitter.send(token.functions.faucet(), action="faucet", job_id=8)
    assert info.value.error_name == "NeuroTokenFaucetCoolingDown"
    assert submitter.outcome(8, "faucet") is None, "a call that reverts in estimation is never signed"


def test_send_returns_before_the_tx_is_mined_and_a_mined_revert_is_decoded(
    chain: tuple[Web3, str], tmp_path: Path
) -> None:
    """With mining paused, `send` returns at once (the old submitter blocked until the receipt); a tx
    that estimation let through but that reverts when mined is recorded REVERTED with its error name."""
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    submitter = Submitter(w3, dev_account(7), ledger, receipt_timeout=1.0)
    rpc_call(url, "evm_setAutomine", [False])
    try:
        started = time.monotonic()
        first = submitter.send(token.functions.faucet(), action="faucet", job_id=1)
        # A fixed gas limit skips the estimate (which, against the pending block, would see the revert);
        # mined after the first drip, it reverts.
        second = submitter.send(token.functions.faucet(), action="faucet", job_id=2, gas=200_000)
        assert time.monotonic() - started < 1.0, "send must not wait for a receipt"
        submitter.poll()
        assert submitter.outcome(1, "faucet") is TxStatus.PENDING
        assert second.nonce == first.nonce + 1
        rpc_call(url, "evm_mine")
    finally:
        rpc_call(url, "evm_setAutomine", [True])
    assert follow(submitter, 1) is TxStatus.MINED
    assert follow(submitter, 2) is TxStatus.REVERTED
    assert submitter.reverts(2, "faucet") == ["NeuroTokenFaucetCoolingDown"]


def test_stuck_transaction_is_replaced_with_higher_fees(chain: tuple[Web3, str], tmp_path: Path) -> None:
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    rpc_call(url, "evm_setAutomine", [False])
    stop = threading.Event()

    def mine() -> None:
        while not ledger.txs() and not stop.is_set():
            time.sleep(0.01)
        # Once the first tx is signed, the next block's base fee jumps far above its max fee: it is stuck.
        first = ledger.txs()[0]
        rpc_call(url, "anvil_setNextBlockBaseFeePerGas", [hex(first.max_fee * 10)])
        while not stop.is_set():
            rpc_call(url, "evm_mine")
            time.sleep(0.15)

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        submitter = Submitter(w3, dev_account(4), ledger, replace_after=0.3, receipt_timeout=30)
        submitter.send(token.functions.faucet(), action="faucet", job_id=1)
        assert follow(submitter, 1) is TxStatus.MINED
    finally:
        stop.set()
        miner.join()
        rpc_call(url, "evm_setAutomine", [True])
    rows = ledger.job_txs(1, "faucet")
    assert len(rows) >= 2 and len({r.nonce for r in rows}) == 1, "replacements reuse the nonce"
    assert rows[-1].max_fee > rows[0].max_fee * 1.1 and rows[-1].tip > rows[0].tip * 1.1
    mined = [r for r in rows if r.status is TxStatus.MINED]
    assert len(mined) == 1 and mined[0].tx_hash != rows[0].tx_hash, "a replacement was mined"
    assert {r.status for r in rows if r is not mined[0]} == {TxStatus.REPLACED}
    assert token.functions.balanceOf(dev_account(4).address).call() == token.functions.FAUCET_AMOUNT().call()


def test_journaled_but_unsent_tx_is_resent_once_after_a_crash(
    chain: tuple[Web3, str], tmp_path: Path
) -> None:
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    crashed = Submitter(w3, dev_account(5), ledger)
    # The crash point: signed and journaled, never broadcast.
    crashed.sender.sign(crashed.sender.build(token.functions.faucet()), "faucet", meta={"job_id": 3})
    assert submitter_status(ledger, 3) == [TxStatus.PENDING]
    assert token.functions.balanceOf(dev_account(5).address).call() == 0

    restarted = Submitter(w3, dev_account(5), Ledger(tmp_path / "ledger.sqlite"))
    restarted.start()
    assert follow(restarted, 3) is TxStatus.MINED
    assert submitter_status(ledger, 3) == [TxStatus.MINED]
    assert token.functions.balanceOf(dev_account(5).address).call() == token.functions.FAUCET_AMOUNT().call()
    restarted.start()  # a second restart finds nothing open and sends nothing
    assert w3.eth.get_transaction_count(dev_account(5).address) == 1


def submitter_status(ledger: Ledger, job_id: int) -> list[TxStatus]:
    return [r.status for r in ledger.job_txs(job_id, "faucet")]


def test_a_journaled_tx_refused_as_underpriced_is_repriced_on_restart(
    chain: tuple[Web3, str], tmp_path: Path
) -> None:
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    crashed = Submitter(w3, dev_account(6), ledger)
    signed = crashed.sender.sign(crashed.sender.build(token.functions.faucet()), "faucet", meta={"job_id": 5})
    # While the node was down the base fee rose far above what the journaled bytes offer.
    rpc_call(url, "anvil_setNextBlockBaseFeePerGas", [hex(signed.max_fee * 10)])
    rpc_call(url, "evm_mine")

    restarted = Submitter(w3, dev_account(6), ledger)
    restarted.start()
    assert follow(restarted, 5) is TxStatus.MINED
    rows = ledger.job_txs(5, "faucet")
    assert [r.status for r in rows] == [TxStatus.REPLACED, TxStatus.MINED]
    assert rows[0].nonce == rows[1].nonce and rows[1].max_fee > signed.max_fee * 5
    assert token.functions.balanceOf(dev_account(6).address).call() == token.functions.FAUCET_AMOUNT().call()


def test_a_tx_dropped_from_the_mempool_is_resent_and_later_nonces_follow(
    chain: tuple[Web3, str], tmp_path: Path
) -> None:
    """A dropped tx leaves a nonce gap that holds every later tx of the account: the submitter notices
    the node no longer knows it and re-broadcasts the journaled bytes, and both txs land."""
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    submitter = Submitter(w3, dev_account(8), ledger)
    rpc_call(url, "evm_setAutomine", [False])
    try:
        dropped = submitter.send(token.functions.faucet(), action="faucet", job_id=1)
        rpc_call(url, "anvil_dropTransaction", [dropped.tx_hash])
    finally:
        rpc_call(url, "evm_setAutomine", [True])
    later = submitter.send(token.functions.approve(address, 1), action="approve", job_id=2)
    assert later.nonce == dropped.nonce + 1
    assert w3.eth.get_transaction_count(dev_account(8).address) == 0, "the gap holds the later tx"
    assert follow(submitter, 1) is TxStatus.MINED
    assert follow(submitter, 2, "approve") is TxStatus.MINED
    assert [r.tx_hash for r in ledger.job_txs(1, "faucet")] == [dropped.tx_hash], "the same bytes again"


def test_a_tx_mined_between_the_receipt_read_and_the_nonce_read_is_mined_not_dropped(
    chain: tuple[Web3, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race that once failed the test above: `poll` reads no receipt, the tx is mined, then the
    account's nonce count has passed it; the old follower called that another signer and dropped it."""
    w3, address = chain
    from neurolink.chain.artifacts import contract_at

    token = contract_at(w3, "NeuroToken", address)
    submitter = Submitter(w3, dev_account(9), Ledger(tmp_path / "ledger.sqlite"))
    sent = submitter.send(token.functions.faucet(), action="faucet", job_id=1)
    # `send` returns once the node has the tx; anvil mines it a moment later.
    w3.eth.wait_for_transaction_receipt(sent.tx_hash)  # type: ignore[arg-type]
    real_receipt = submitter.sender.receipt
    reads: list[str] = []

    def receipt_read_before_mining(tx_hash: str) -> object:
        reads.append(tx_hash)
        return None if len(reads) == 1 else real_receipt(tx_hash)

    # The only stand-in here: the first receipt read answers as if it ran just before the block.
    monkeypatch.setattr(submitter.sender, "receipt", receipt_read_before_mining)
    assert w3.eth.get_transaction_count(dev_account(9).address) == sent.nonce + 1
    submitter.poll()
    assert submitter.outcome(1, "faucet") is TxStatus.MINED
    assert len(reads) == 2


def test_nonce_too_low_from_a_second_signer_is_a_conflict_not_success(
    chain: tuple[Web3, str], tmp_path: Path
) -> None:
    """Another program signing for the account takes the nonce of a journaled tx: the node answers
    "nonce too low", which the old sender took as "already sent" and then waited on forever."""
    w3, address = chain
    from neurolink.chain.artifacts import contract_at
    from neurolink.chain.errors import NonceConflictError

    token = contract_at(w3, "NeuroToken", address)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    submitter = Submitter(w3, dev_account(9), ledger)
    faucet = submitter.sender.build(token.functions.faucet())
    ours = submitter.sender.sign(faucet, "faucet", meta={"job_id": 4})
    TxSender(w3, dev_account(9)).transact(token.functions.approve(address, 1))  # the second signer
    with pytest.raises(NonceConflictError, match="second program signing"):
        submitter.sender.broadcast(ours)
    submitter.poll()
    rows = ledger.job_txs(4, "faucet")
    assert [r.status for r in rows] == [TxStatus.DROPPED] and "another transaction" in rows[0].error
    # The cached nonce came from the chain again: the next send lands.
    submitter.send(token.functions.faucet(), action="faucet", job_id=5)
    assert follow(submitter, 5) is TxStatus.MINED
