"""A backlog of jobs a node is not drawn for costs it no chain reads per round.

The old claim loop read each queued job's phase and its whole draw (seven calls) on every round, so a
node behind a backlog spent its rounds re-reading jobs it could not claim (the soak's 40-jobs-a-minute
run fell from 18 to 5 settled jobs a minute). A draw only changes when it widens, when a slot is given
back or when the job escalates; until then the job waits without a call.
"""

import pytest
from provider_bench import TOKEN, Host, Network, benchmark_spec, create_job, ledger_of, make_provider

from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from node.daemon.app import build_daemon
from node.daemon.config import load_node_config
from node.daemon.daemon import NOT_DRAWN
from node.daemon.ledger import Phase

pytestmark = pytest.mark.integration
INDEX = 35  # a provider account no other test uses
JOBS = 4


def test_jobs_a_node_is_not_drawn_for_are_not_read_again_each_round(network: Network, host: Host) -> None:
    # Created before the provider staked: its sortition weight for these jobs is zero, so it is drawn
    # for none of them, now or later (their claim windows are long enough to outlast the test).
    first_block = network.w3.eth.block_number
    jobs = [
        create_job(network, benchmark_spec(seed=3500 + i), host, payment=2 * TOKEN, windows=(600, 600, 600))
        for i in range(JOBS)
    ]
    provider = make_provider(network, host, INDEX)
    # The node watches from before the jobs were created (a provider's config starts at its own block).
    config = provider.config.read_text()
    start = next(line for line in config.splitlines() if line.startswith("start_block"))
    provider.config.write_text(config.replace(start, f"start_block = {first_block}"))
    settings = host.settings().model_copy(update={"rpc_url": provider.rpc_url})
    daemon = build_daemon(settings, load_node_config(settings, provider.config), dev_account(INDEX))
    draws: list[int] = []
    phases: list[int] = []
    real_draw, real_phase = daemon.market.drawn_slots, daemon.market.phase

    def counted_draw(job_id: int, provider: str) -> tuple[list[int], int | None, bool]:
        draws.append(job_id)
        return real_draw(job_id, provider)

    def counted_phase(job_id: int) -> object:
        phases.append(job_id)
        return real_phase(job_id)

    # Spies, not stand-ins: every call reaches the real chain and is only counted on its way.
    daemon.market.drawn_slots = counted_draw  # type: ignore[method-assign]
    daemon.market.phase = counted_phase  # type: ignore[method-assign,assignment]
    daemon.start()
    try:
        for _ in range(3):
            daemon.tick()
        ours = set(jobs)
        assert sorted(j for j in draws if j in ours) == sorted(jobs), "each job's draw read once"
        for job_id in jobs:
            row = ledger_of(provider).job(job_id)
            assert row is not None and row.phase is Phase.QUEUED and row.reason == NOT_DRAWN
        draws.clear()
        phases.clear()
        for _ in range(5):
            daemon.tick()
        assert not [j for j in draws if j in ours], "no draw read again before it can change"
        assert not [j for j in phases if j in ours], "no phase read for a job that waits on its draw"
    finally:
        daemon.stop()
        # Nobody claimed them: the requester takes them back, so no later test's node finds them.
        requester = TxSender(network.w3, dev_account(1))
        for job_id in jobs:
            requester.transact(network.market.functions.cancel(job_id))
