"""The explorer's indexer on a chain of the test's own: a reorganisation (anvil snapshot/revert) rewinds
the rows to what the new chain says, and indexing again from any block changes nothing."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coordinator.explorer.models import Account, Job
from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call
from neurolink.protocol.params import Capabilities
from node.localnet import TOKEN, Network, deploy_network
from tests.integration.explorer.explorer_bench import indexer_for, rows

pytestmark = pytest.mark.integration


def _fund(network: Network, sender: TxSender, amount: int) -> None:
    if network.token.functions.balanceOf(sender.address).call() < amount:
        sender.transact(network.token.functions.faucet())


def _job(network: Network, payment: int) -> None:
    from neurolink.protocol.params import JobParams, Requirements

    sender = TxSender(network.w3, dev_account(1))
    _fund(network, sender, payment)
    sender.transact(network.token.functions.approve(network.market.address, payment))
    params = JobParams(
        spec_digest=b"\x11" * 32, payment=payment, replicas=1, collateral=5 * TOKEN,
        requirements=Requirements(gpu_count=1, max_gpu_seconds=10),
        claim_window=60, commit_window=60, reveal_window=60,
    )  # fmt: skip
    sender.transact(network.market.functions.createJob(params.as_tuple()))


def _stake(network: Network, index: int, amount: int) -> str:
    sender = TxSender(network.w3, dev_account(index))
    _fund(network, sender, amount)
    sender.transact(network.token.functions.approve(network.staking.address, amount))
    if not network.staking.functions.isRegistered(sender.address).call():
        sender.transact(network.staking.functions.register(Capabilities(1, 4096, 0, 0).as_tuple()))
    sender.transact(network.staking.functions.stake(amount))
    return sender.address


def test_a_reorganisation_rewinds_the_rows(fresh_anvil: Anvil, explorer_db: str) -> None:
    network = deploy_network(fresh_anvil)
    engine, indexer = indexer_for(explorer_db, network)
    provider = _stake(network, 2, 100 * TOKEN)
    _job(network, 1 * TOKEN)
    indexer.poll()
    before = rows(engine)
    snapshot = rpc_call(fresh_anvil.rpc_url, "evm_snapshot")

    # The branch that will be undone: a second job and more stake.
    _job(network, 2 * TOKEN)
    _stake(network, 2, 50 * TOKEN)
    indexer.poll()
    with Session(engine) as db:
        assert [j.payment for j in db.scalars(select(Job).order_by(Job.job_id))] == [
            str(TOKEN),
            str(2 * TOKEN),
        ]
        assert db.get(Account, provider).staked == str(150 * TOKEN)  # type: ignore[union-attr]

    # The chain goes back and grows another way, longer than the undone branch.
    rpc_call(fresh_anvil.rpc_url, "evm_revert", [snapshot])
    _job(network, 7 * TOKEN)
    for _ in range(6):
        rpc_call(fresh_anvil.rpc_url, "evm_mine")
    indexer.poll()
    with Session(engine) as db:
        jobs = list(db.scalars(select(Job).order_by(Job.job_id)))
        assert [(j.job_id, j.payment) for j in jobs] == [(1, str(TOKEN)), (2, str(7 * TOKEN))]
        account = db.get(Account, provider)
        assert account is not None
        assert account.staked == str(network.staking.functions.stakeOf(provider).call()) == str(100 * TOKEN)
    assert indexer.watcher.reorgs == 1

    # The rows are those a fresh index of the new chain writes, and indexing again changes none.
    after = rows(engine)
    assert after != before
    indexer.rewind_to(0)
    indexer.poll()
    assert rows(engine) == after
    fresh_engine, fresh = indexer_for(explorer_db.replace("explorer.sqlite", "fresh.sqlite"), network)
    if fresh_engine.url != engine.url:
        fresh.poll()
        assert rows(fresh_engine) == after
