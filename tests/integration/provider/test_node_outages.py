"""The chain and the broker go away mid-job and come back: the node recovers and finishes the job.

This module runs its own anvil with a state file, so it can stop and restart the chain; the broker is
the session's private Redis (append-only file on), restarted on the same port.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from provider_bench import (
    TOKEN,
    Network,
    NodeProcess,
    ProviderHome,
    RedisServer,
    create_job,
    deploy_network,
    ledger_of,
    make_host,
    make_provider,
    net_of,
    tip_of,
    wait_settled,
    wait_until,
)

from neurolink.devnet.anvil import Anvil, start_anvil
from node.daemon.ledger import Phase

pytestmark = pytest.mark.integration


def slow_spec(seed: int) -> bytes:
    """A GEMM benchmark of about two seconds on an idle CPU slot: long enough to break things under it."""
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    return JobSpec(
        workload=BenchmarkWorkload(size=512, iterations=600),
        requirements=Requirements(gpu_count=1, max_runtime_s=60),
        seed=seed,
    ).canonical_json()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("chain")
    box: dict[str, Any] = {"state": folder / "anvil-state.json"}
    box["anvil"] = start_anvil(state_file=box["state"])
    box["network"] = deploy_network(box["anvil"])
    yield box
    box["anvil"].stop()


@pytest.fixture(scope="module")
def provider(
    chain: dict[str, Any], redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> ProviderHome:
    """A host of its own whose daemon starts its workers itself (`neurolink node run`, workers on)."""
    host = make_host(tmp_path_factory.mktemp("outages"), redis_server.url, slots=1)
    return make_provider(chain["network"], host, 7)


def _run_job_through(
    network: Network, home: ProviderHome, seed: int, outage: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Run one job, break something once the node computes it, check it still ends paid; the job id and
    the node's log."""
    balance = network.token.functions.balanceOf(home.address).call()
    node = NodeProcess(home)
    try:
        payment = 2 * TOKEN
        job_id = create_job(network, slow_spec(seed), home.host, payment=payment, max_gpu_seconds=60)
        wait_until(
            lambda: (row := ledger_of(home).job(job_id)) is not None and row.phase is Phase.COMPUTING,
            60,
            "the node to start computing",
            process=node,
        )
        network = outage() or network
        wait_settled(network, job_id, 120, f"job {job_id} settled after the outage", process=node)
        net = net_of(network, payment) + tip_of(network, payment)  # its reveal settled the job
        wait_until(
            lambda: network.token.functions.balanceOf(home.address).call() == balance + net,
            30,
            "the node to withdraw its reward",
            process=node,
        )
        assert network.staking.functions.stakeInfoOf(home.address).call()[1] == 0, "collateral released"
    finally:
        node.stop()
    logs = node.logs()
    start = max(i for i, e in enumerate(logs) if e["msg"] == "node started")
    return job_id, logs[start:]


def test_broker_restarted_mid_job(
    chain: dict[str, Any], provider: ProviderHome, redis_server: RedisServer
) -> None:
    home = provider

    def restart_broker() -> None:
        redis_server.stop()
        time.sleep(1.0)
        redis_server.start()

    job_id, logs = _run_job_through(chain["network"], home, 301, restart_broker)
    # The outage hit this job: the node's result backend lost the broker while the job waited on it.
    computing = next(i for i, e in enumerate(logs) if e["msg"] == "computing" and e.get("job_id") == job_id)
    computed = next(i for i, e in enumerate(logs) if e["msg"] == "computed" and e.get("job_id") == job_id)
    lost = [
        i
        for i, e in enumerate(logs)
        if e.get("logger") == "celery.backends.redis" and e["msg"].startswith("Connection to Redis lost")
    ]
    assert any(computing < i < computed for i in lost), "the broker went away while the job waited on it"


def test_chain_restarted_from_its_state_mid_job(chain: dict[str, Any], provider: ProviderHome) -> None:
    home = provider

    def restart_chain() -> Network:
        anvil: Anvil = chain["anvil"]
        anvil.stop()  # SIGTERM: anvil writes its state file on the way out
        # Longer than web3's retries (3 s), so the daemon sees the chain gone and must carry on.
        time.sleep(5.0)
        chain["anvil"] = start_anvil(port=anvil.port, state_file=chain["state"])
        chain["network"] = Network.on_anvil(chain["anvil"], chain["network"])
        return chain["network"]

    _, logs = _run_job_through(chain["network"], home, 302, restart_chain)
    outages = [e for e in logs if e["msg"] == "step failed on an outage, will retry"]
    assert any("ConnectionError" in e["error"] or "RpcUnavailableError" in e["error"] for e in outages), (
        "the node saw the chain gone and carried on"
    )
    assert not any(e["msg"] == "job quarantined" for e in logs), "an outage never uses up a job's budget"
