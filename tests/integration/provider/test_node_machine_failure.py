"""A machine that cannot run jobs abandons one, then stops claiming: it does not claim and abandon every
job in turn, paying a tenth of the collateral each time. Workers that are only away for a moment cost
nothing: the job waits for them.

The machine is real: a Celery worker that must sandbox its jobs on a host without bubblewrap (its PATH
finds none), so every job fails with SandboxUnavailable, a machine failure. The soak (scripts/soak.py)
found this: a node whose sandbox could not start claimed and abandoned each job it was offered; and
the node's ledger did not book the abandon's penalty (a tenth of the collateral, burned) as slashed.
"""

from pathlib import Path

import pytest
from provider_bench import (
    TOKEN,
    Network,
    NodeLog,
    NodeProcess,
    RedisServer,
    benchmark_spec,
    create_job,
    ledger_of,
    make_host,
    make_provider,
    start_workers,
    wait_settled,
    wait_until,
)

from node.daemon.daemon import CLAIMS_PAUSED
from node.daemon.ledger import Phase
from node.worker.pool import WorkerPool

pytestmark = pytest.mark.integration


def test_a_node_whose_sandbox_cannot_start_abandons_one_job_then_pauses_claims(
    network: Network, redis_server: RedisServer, tmp_path: Path
) -> None:
    host = make_host(tmp_path / "host", redis_server.url, slots=1)
    settings = host.settings().model_copy(update={"sandbox": "required"})
    pool = WorkerPool(settings, extra_env={"PATH": str(tmp_path / "no-bwrap-here")})
    pool.start()
    pool.wait_ready()
    provider = make_provider(network, host, 17)
    # One job per device: with a claim queued behind the failing one, the held-back count below would
    # include the queued claim's own failure (the pause covers new claims, not ones already held).
    with provider.config.open("a") as config:
        config.write("jobs_per_device = 1\n")
    node = NodeProcess(provider, "--no-workers")
    try:
        jobs = [create_job(network, benchmark_spec(seed=1700 + i), host, payment=TOKEN) for i in range(3)]
        wait_until(
            lambda: any(NodeLog(provider).has("slot abandoned", j) for j in jobs),
            90,
            "the node to abandon a job it cannot run",
            process=node,
        )

        def waiting() -> list[int]:
            ledger = ledger_of(provider)
            return [j for j in jobs if (row := ledger.job(j)) and row.reason == CLAIMS_PAUSED]

        wait_until(lambda: len(waiting()) == 2, 60, "the other two jobs held back", process=node)
    finally:
        node.stop()
        pool.stop()
    abandoned = network.market.events.JobAbandoned().get_logs(from_block=0)
    mine = [e for e in abandoned if e["args"]["provider"] == provider.address]
    assert len(mine) == 1, "one abandon, not one per job"
    ledger = ledger_of(provider)
    abandoned_job = ledger.job(mine[0]["args"]["jobId"])
    assert abandoned_job is not None and abandoned_job.slashed == mine[0]["args"]["penalty"] > 0, (
        "the ledger books the abandon's penalty as the chain burned it"
    )
    assert sorted(r.phase for j in jobs if (r := ledger.job(j))) == [Phase.LOST, Phase.QUEUED, Phase.QUEUED]
    assert any(e["msg"] == CLAIMS_PAUSED and e["seconds"] == 30.0 for e in NodeLog(provider).entries())


def test_a_job_dispatched_while_the_workers_restart_is_run_when_they_are_back(
    network: Network, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The soak found it: a worker killed and restarted (seconds) made the node abandon the job it
    dispatched meanwhile, since a host with no workers registered answers DevicesUnavailable at once."""
    host = make_host(tmp_path / "host", redis_server.url, slots=1)
    provider = make_provider(network, host, 18)
    node = NodeProcess(provider, "--no-workers")
    pool = None
    try:
        # Its workers are away (stopped by their supervisor, not yet back) when the job arrives.
        job = create_job(network, benchmark_spec(seed=1801), host, payment=TOKEN)
        wait_until(
            lambda: any(
                e["msg"] == "compute failed, will retry" and e.get("job_id") == job
                for e in NodeLog(provider).entries()
            ),
            90,
            "the node to find no workers and retry",
            process=node,
        )
        pool = start_workers(host)
        wait_settled(network, job, 90, "the job to run once the workers are back", process=node)
    finally:
        node.stop()
        if pool is not None:
            pool.stop()
    abandoned = network.market.events.JobAbandoned().get_logs(from_block=0)
    assert not [e for e in abandoned if e["args"]["provider"] == provider.address], "no slot given up"
    assert not NodeLog(provider).has("slot abandoned", job)
