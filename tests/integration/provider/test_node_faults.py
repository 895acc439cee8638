"""`--fault wrong-result` and `--fault silent` (demo and test switches): the misbehaving node is slashed
and the honest pair shares the payment plus the slashed collateral."""

from collections.abc import Iterator

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    make_provider,
    net_of,
    stop_all,
    tip_of,
    wait_settled,
    wait_until,
)

from neurolink.protocol.devnet import advance_time
from neurolink.protocol.views import JobPhase, read_job, read_phase

pytestmark = pytest.mark.integration

COLLATERAL = 5 * TOKEN
PAYMENT = 6 * TOKEN


@pytest.fixture(scope="module")
def trio(network: Network, host: Host) -> Iterator[list[ProviderHome]]:
    providers = [make_provider(network, host, index) for index in (10, 11, 12)]
    yield providers


def _run_with_faulty(network: Network, host: Host, trio: list[ProviderHome], fault: str, seed: int) -> None:
    honest, faulty = trio[:2], trio[2]
    staking, token = network.staking.functions, network.token.functions
    stakes = {p.address: staking.stakeOf(p.address).call() for p in trio}
    balances = {p.address: token.balanceOf(p.address).call() for p in trio}
    nodes = [NodeProcess(p, "--no-workers") for p in honest] + [
        NodeProcess(faulty, "--no-workers", "--fault", fault)
    ]
    try:
        job_id = create_job(
            network, benchmark_spec(3, seed=seed), host, payment=PAYMENT, replicas=3, collateral=COLLATERAL
        )
        if fault == "silent":
            # The silent slot never commits: reveals open at the commit deadline (claim + commit window).
            wait_until(
                lambda: read_job(network.market, job_id).committed == 2,
                60,
                "two commits",
                process=nodes,
            )
            advance_time(network.w3, 2 * 60 + 1)
        wait_settled(network, job_id, 60, "settled", process=nodes)
        # No slash bonus (the faulty slot's collateral is burned); whoever revealed last is tipped.
        reward, tip = net_of(network, PAYMENT) // 2, tip_of(network, PAYMENT)

        def gain(p: ProviderHome) -> int:
            return int(token.balanceOf(p.address).call()) - balances[p.address]

        wait_until(
            lambda: (
                all(gain(p) in (reward, reward + tip) for p in honest)
                and sum(gain(p) for p in trio) == 2 * reward + tip
            ),
            30,
            "the honest pair withdrawing the payment",
            process=nodes,
        )
    finally:
        stop_all(nodes)
    assert staking.stakeOf(faulty.address).call() == stakes[faulty.address] - COLLATERAL, (
        "the faulty node is slashed"
    )
    assert all(staking.stakeOf(p.address).call() == stakes[p.address] for p in honest)
    assert token.balanceOf(faulty.address).call() - balances[faulty.address] in (0, tip), "no reward"
    warnings = [e for e in nodes[2].logs() if e["level"] == "warning" and "FAULT" in e["msg"]]
    assert warnings, "a faulty node says so in its log"


def test_wrong_result_is_slashed(network: Network, host: Host, trio: list[ProviderHome]) -> None:
    _run_with_faulty(network, host, trio, "wrong-result", 201)


def test_silent_node_is_slashed(network: Network, host: Host, trio: list[ProviderHome]) -> None:
    _run_with_faulty(network, host, trio, "silent", 202)


def test_an_under_claimed_job_is_settled_by_the_node_when_due(
    network: Network, host: Host, trio: list[ProviderHome]
) -> None:
    """Only one of three slots gets claimed: after the claim deadline the node itself settles the job,
    which never filled, so it fails as under-claimed and gives everyone their tokens back."""
    from provider_bench import ledger_of

    from node.daemon.ledger import Phase, TxStatus

    alone = trio[0]
    stake = network.staking.functions.stakeOf(alone.address).call()
    node = NodeProcess(alone, "--no-workers")
    try:
        job_id = create_job(network, benchmark_spec(3, seed=203), host, payment=PAYMENT, replicas=3)
        wait_until(
            lambda: (row := ledger_of(alone).job(job_id)) is not None and row.phase is Phase.COMMITTED,
            60,
            "the lone node to commit",
            process=node,
        )
        advance_time(network.w3, 61)  # past the claim deadline with one slot of three: settleable
        wait_until(lambda: read_phase(network.market, job_id) is JobPhase.FAILED, 30, "settled as failed")
        wait_until(
            lambda: (row := ledger_of(alone).job(job_id)) is not None and row.phase is Phase.SETTLED,
            30,
            "the node to record the outcome",
            process=node,
        )
    finally:
        node.stop()
    settles = ledger_of(alone).job_txs(job_id, "settle")
    assert [t.status for t in settles] == [TxStatus.MINED], "the node sent the settlement itself"
    row = ledger_of(alone).job(job_id)
    assert row is not None and row.slashed == 0 and "UnderClaimed" in row.reason
    info = network.staking.functions.stakeInfoOf(alone.address).call()
    assert network.staking.functions.stakeOf(alone.address).call() == stake and info[1] == 0
