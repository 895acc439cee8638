"""One job's failing step delays that job only: the others settle, the failing job is quarantined once
its retry budget is spent, and the ledger, `node status` and the metrics show it.

The failure is a real daemon running on the real chain and workers, with one step made to raise for one
job (standing in for a bug or an answer the code cannot handle). The old loop let that exception abort
the whole tick, and the failing job went first again on every tick, so no later job ever advanced.
Once the cause is gone, `neurolink node quarantine release` gives the job back to the running daemon.
"""

import json
import subprocess
import threading

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    benchmark_spec,
    create_job,
    ledger_of,
    make_provider,
    wait_settled,
    wait_until,
)

from neurolink.devnet.accounts import dev_account
from neurolink.devnet.network import neurolink_command
from neurolink.errors import ExitCode
from node.daemon.app import build_daemon
from node.daemon.config import load_node_config
from node.daemon.ledger import JobRow, Phase
from node.daemon.metrics import NodeMetrics
from node.localnet import node_env

pytestmark = pytest.mark.integration


def test_a_job_whose_step_keeps_failing_is_quarantined_until_released(network: Network, host: Host) -> None:
    provider = make_provider(network, host, 14, devices=2)
    settings = host.settings().model_copy(update={"rpc_url": provider.rpc_url})
    config = load_node_config(settings, provider.config)
    daemon = build_daemon(settings, config, dev_account(14))
    daemon.metrics = NodeMetrics()
    broken: list[int] = []
    real_step = daemon._on_computed

    def on_computed(job: JobRow) -> None:
        if job.job_id in broken:
            raise RuntimeError(f"cannot handle job {job.job_id}")
        real_step(job)

    daemon._on_computed = on_computed  # type: ignore[method-assign]
    first = create_job(network, benchmark_spec(seed=1401), host, payment=2 * TOKEN)
    second = create_job(network, benchmark_spec(seed=1402), host, payment=2 * TOKEN)
    broken.append(first)
    daemon.start()
    loop = threading.Thread(target=daemon.run, daemon=True)
    loop.start()

    def node(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*neurolink_command(), "node", *args, "--json", "--config", str(provider.config)],
            env=node_env(provider),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    try:
        wait_settled(network, second, 90, "the healthy job to settle beside the failing one")
        wait_until(
            lambda: (row := ledger_of(provider).job(first)) is not None and row.phase is Phase.QUARANTINED,
            60,
            "the failing job to be quarantined",
        )
        row = ledger_of(provider).job(first)
        assert row is not None and f"cannot handle job {first}" in row.reason
        assert row.info["quarantined_from"] == Phase.COMPUTED.value
        assert daemon.step_errors == daemon.retry_budget
        registry = daemon.metrics.registry
        assert registry.get_sample_value("neurolink_node_jobs", {"phase": "quarantined"}) == 1
        assert registry.get_sample_value("neurolink_node_step_errors") == daemon.retry_budget
        shown = json.loads(node("status").stdout)
        assert shown["jobs"]["quarantined"] == 1
        assert [q["job_id"] for q in shown["quarantined"]] == [first]
        listed = json.loads(node("quarantine", "list").stdout)["quarantined"]
        assert listed == [{"job_id": first, "reason": row.reason, "quarantined_from": "computed"}]

        refused = node("quarantine", "release", str(second))
        assert refused.returncode == ExitCode.INVALID_INPUT, refused.stderr
        assert f"job {second} is settled, not quarantined" in refused.stderr
        unknown = node("quarantine", "release", "999999")
        assert unknown.returncode == ExitCode.NOT_FOUND, unknown.stderr

        # The operator fixed the cause; the running daemon takes the job up again and it pays.
        broken.clear()
        released = node("quarantine", "release", str(first))
        assert released.returncode == 0, released.stderr
        assert json.loads(released.stdout) == {"job_id": first, "released": True, "phase": "computed"}
        wait_settled(network, first, 90, "the released job to settle")
        wait_until(
            lambda: (row := ledger_of(provider).job(first)) is not None and row.phase is Phase.SETTLED,
            30,
            "the ledger to record the released job's settlement",
        )
    finally:
        daemon.request_stop()
        loop.join(30)
        daemon.stop()
    settled = ledger_of(provider).job(first)
    assert settled is not None and settled.earned > 0 and settled.slashed == 0
