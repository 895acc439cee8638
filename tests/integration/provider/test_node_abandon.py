"""A slot given back with `abandon` after the job filled is drawn again: a node that lost the claim race
notices the JobAbandoned event, claims the re-opened slot and the job settles with it."""

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    benchmark_spec,
    create_job,
    ledger_of,
    make_provider,
    stop_all,
    wait_settled,
    wait_until,
)

from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import read_job, read_slots
from node.daemon.ledger import Phase

pytestmark = pytest.mark.integration

COLLATERAL = 2 * TOKEN
ABANDONER = 23


def test_a_node_takes_a_slot_another_provider_abandoned(network: Network, host: Host) -> None:
    providers = [make_provider(network, host, index) for index in (20, 21, 22)]
    make_provider(network, host, ABANDONER)  # registered and staked, driven from here, never a node
    quitter = TxSender(network.w3, dev_account(ABANDONER))
    stake = network.staking.functions.stakeOf(quitter.address).call()
    nodes = [NodeProcess(p, "--no-workers") for p in providers]
    try:
        wait_until(
            lambda: all(any(e["msg"] == "node started" for e in n.logs()) for n in nodes),
            60,
            "three nodes up",
            process=nodes,
        )
        job_id = create_job(
            network, benchmark_spec(3, seed=301), host, replicas=3, collateral=COLLATERAL, payment=6 * TOKEN
        )
        # The quitter claims in the first block the draw allows, before any node reacts; two of the
        # three nodes fill the job and the third loses the race.
        claim_drawn_slot(quitter, network.market, network.staking, job_id)
        wait_until(lambda: read_job(network.market, job_id).filled, 60, "the job to fill", process=nodes)
        holders = {s.provider for s in read_slots(network.market, job_id)}
        (loser,) = [p for p in providers if p.address not in holders]
        wait_until(
            lambda: (row := ledger_of(loser).job(job_id)) is not None and row.phase is Phase.LOST,
            30,
            "the third node to give the full job up",
            process=nodes,
        )
        quitter.transact(network.market.functions.abandon(job_id))
        wait_settled(network, job_id, 120, "the job settled with the re-opened slot taken", process=nodes)
        wait_until(
            lambda: (row := ledger_of(loser).job(job_id)) is not None and row.phase is Phase.SETTLED,
            30,
            "the late node to record its settlement",
            process=nodes,
        )
    finally:
        stop_all(nodes)
    assert {s.provider for s in read_slots(network.market, job_id)} == {p.address for p in providers}
    row = ledger_of(loser).job(job_id)
    assert row is not None and row.earned > 0 and row.slashed == 0, "the late node was paid"
    penalty = COLLATERAL * network.market.functions.ABANDON_PENALTY_BPS().call() // 10_000
    assert network.staking.functions.stakeOf(quitter.address).call() == stake - penalty
