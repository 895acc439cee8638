"""The node reacts to the chain and to its own computations, not to its clock.

With the poll interval at its maximum (60 s), a node that only ticked on its interval would need
minutes for the several rounds a job takes (see the event, claim, dispatch, reveal); woken by new
blocks and finished computations, it settles the job within the test's wait.
"""

import pytest
from provider_bench import (
    Host,
    Network,
    NodeLog,
    NodeProcess,
    benchmark_spec,
    create_job,
    make_provider,
    stop_all,
    wait_settled,
    wait_until,
)

pytestmark = pytest.mark.integration

SLOW_POLL_S = 60.0  # the longest poll interval NodeConfig accepts


def test_a_node_polling_once_a_minute_still_settles_a_job_in_seconds(network: Network, host: Host) -> None:
    provider = make_provider(network, host, 19)
    config = provider.config.read_text()
    assert "poll_interval = 0.2" in config
    provider.config.write_text(config.replace("poll_interval = 0.2", f"poll_interval = {SLOW_POLL_S}"))
    node = NodeProcess(provider, "--no-workers")
    try:
        wait_until(
            lambda: any(e["msg"] == "node started" for e in NodeLog(provider).entries()),
            120,
            "node started",
            process=node,
        )
        job_id = create_job(network, benchmark_spec(1, seed=17), host)
        # Well under one poll interval: only news (blocks, the computation's end) can drive the job.
        wait_settled(network, job_id, SLOW_POLL_S / 2, f"job {job_id} settled", process=node)
    finally:
        stop_all([node])
