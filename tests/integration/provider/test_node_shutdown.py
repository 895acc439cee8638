"""`node run` stops within seconds of SIGTERM whatever it runs, and the restarted node finishes the job.

The old daemon joined its executor threads at exit, so a SIGTERM during a computation hung until the
computation (or its deadline) was over.
"""

import signal
import time

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    create_job,
    ledger_of,
    make_provider,
    wait_settled,
    wait_until,
)

from node.daemon.ledger import Phase

pytestmark = pytest.mark.integration
# Far below what the computation has left when the signal comes (it runs for about 15 s).
STOP_WITHIN_S = 6.0


def long_spec(seed: int) -> bytes:
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    return JobSpec(
        workload=BenchmarkWorkload(size=512, iterations=4500),
        requirements=Requirements(gpu_count=1, max_runtime_s=60),
        seed=seed,
    ).canonical_json()


def test_sigterm_mid_computation_stops_at_once_and_the_restart_finishes(network: Network, host: Host) -> None:
    provider = make_provider(network, host, 13)
    node = NodeProcess(provider, "--no-workers")
    try:
        job_id = create_job(network, long_spec(13), host, payment=2 * TOKEN, max_gpu_seconds=60)
        wait_until(
            lambda: (row := ledger_of(provider).job(job_id)) is not None and row.phase is Phase.COMPUTING,
            60,
            "the node to start computing",
            process=node,
        )
        time.sleep(1.0)  # the computation is under way on a worker
        started = time.monotonic()
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=120)
        stopped_after = time.monotonic() - started
        assert stopped_after < STOP_WITHIN_S, f"took {stopped_after:.1f}s to stop"
        assert node.process.returncode == 0
        row = ledger_of(provider).job(job_id)
        assert row is not None and row.phase is Phase.COMPUTING, "nothing recorded as done"
    finally:
        node.stop()
    restarted = NodeProcess(provider, "--no-workers")
    try:
        wait_settled(network, job_id, 240, "the restarted node to finish the job", process=restarted)
    finally:
        restarted.stop()
