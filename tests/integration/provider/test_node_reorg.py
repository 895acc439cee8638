"""A reorganisation that undoes a settled job: the daemon notices it, re-derives the job from the
contract's views (open again, no slot of ours), follows its own undone transactions again, and the job
is claimed, revealed and settled a second time, paying once.

The chain is an anvil of the test's own; `evm_revert` to a snapshot taken right after the job was
created stands in for a reorganisation that drops every block after it. The old daemon re-read the
JobCreated event but kept the job as settled in its ledger, so it never took the job up again.
"""

import time
from collections.abc import Iterator

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    benchmark_spec,
    create_job,
    deploy_network,
    make_provider,
    net_of,
    tip_of,
)

from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call, start_anvil
from neurolink.protocol.views import JobPhase, read_phase
from node.daemon.app import build_daemon
from node.daemon.config import load_node_config
from node.daemon.daemon import Daemon
from node.daemon.ledger import Phase

pytestmark = pytest.mark.integration


@pytest.fixture
def private_chain(contracts_built: object) -> Iterator[tuple[Anvil, Network]]:
    with start_anvil() as node:
        yield node, deploy_network(node)


def _tick_until(daemon: Daemon, done: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        daemon.tick()
        time.sleep(0.1)


def test_a_settlement_undone_by_a_reorg_is_redone_and_paid_once(
    private_chain: tuple[Anvil, Network], host: Host
) -> None:
    anvil, network = private_chain
    provider = make_provider(network, host, 16)
    settings = host.settings().model_copy(update={"rpc_url": provider.rpc_url})
    daemon = build_daemon(settings, load_node_config(settings, provider.config), dev_account(16))
    token = network.token.functions
    balance = token.balanceOf(provider.address).call()
    payment = 2 * TOKEN
    job_id = create_job(network, benchmark_spec(seed=1601), host, payment=payment)
    snapshot = rpc_call(anvil.rpc_url, "evm_snapshot")
    daemon.start()
    try:
        _tick_until(
            daemon,
            lambda: (r := daemon.ledger.job(job_id)) is not None and r.phase is Phase.SETTLED,
            "settled",
        )
        _tick_until(daemon, lambda: token.balanceOf(provider.address).call() > balance, "the withdrawal")
        earned = daemon.ledger.job(job_id).earned  # type: ignore[union-attr]
        assert earned > 0

        assert rpc_call(anvil.rpc_url, "evm_revert", [snapshot])
        assert read_phase(network.market, job_id) is JobPhase.CLAIMING
        assert token.balanceOf(provider.address).call() == balance, "the reorg took the payment away"
        daemon.tick()
        row = daemon.ledger.job(job_id)
        assert row is not None and row.phase is not Phase.SETTLED and row.earned == 0, row

        _tick_until(daemon, lambda: read_phase(network.market, job_id) is JobPhase.SETTLED, "settled again")
        _tick_until(
            daemon,
            lambda: (r := daemon.ledger.job(job_id)) is not None and r.phase is Phase.SETTLED,
            "the ledger to agree with the chain",
        )
        _tick_until(
            daemon, lambda: network.market.functions.claimable(provider.address).call() == 0, "withdrawn"
        )
    finally:
        daemon.stop()
    # The one provider also concluded the job, so it gets the settlement tip too.
    paid = net_of(network, payment) + tip_of(network, payment)
    assert token.balanceOf(provider.address).call() == balance + paid, "paid once"
    assert daemon.ledger.job(job_id).earned == earned  # type: ignore[union-attr]
    assert daemon.ledger.totals()["earned"] == earned
