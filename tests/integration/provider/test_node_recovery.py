"""Kill -9 the daemon at each phase of a job and restart it: the job completes, nothing is claimed twice,
and the node loses no collateral to its own crash.

The crash is injected with NEUROLINK_CRASH_AT=<point>, which makes the daemon `os._exit(137)` exactly
there (what SIGKILL gives), so each phase is hit deterministically.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeLog,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    ledger_of,
    make_provider,
    net_of,
    tip_of,
    wait_settled,
    wait_until,
)

from node.daemon.crash import POINTS
from node.daemon.ledger import TxStatus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair(network: Network, host: Host) -> Iterator[tuple[ProviderHome, ProviderHome, ProviderHome]]:
    """A steady node that runs throughout (with a second one, for k = 3 jobs), and a crashing one, all
    on the shared host's workers."""
    steady = make_provider(network, host, 5)
    second = make_provider(network, host, 8)
    crashy = make_provider(network, host, 6)
    nodes = [NodeProcess(steady, "--no-workers"), NodeProcess(second, "--no-workers")]
    yield steady, crashy, second
    for node in nodes:
        node.stop()


@pytest.mark.parametrize("point", POINTS)
def test_crash_and_restart_at_each_phase(
    point: str, network: Network, pair: tuple[ProviderHome, ProviderHome, ProviderHome], host: Host
) -> None:
    _, crashy, _ = pair
    staking, market = network.staking.functions, network.market.functions
    stake_before = staking.stakeOf(crashy.address).call()
    balance_before = network.token.functions.balanceOf(crashy.address).call()

    crashing = NodeProcess(crashy, "--no-workers", crash_at=point)
    payment = 4 * TOKEN
    job_id = create_job(
        network, benchmark_spec(3, seed=100 + POINTS.index(point)), host, payment=payment, replicas=3
    )
    assert crashing.wait_exit(90) == 137, f"the daemon should have died at {point}"
    assert any(e.get("point") == point for e in crashing.logs()), "the crash was logged before exiting"

    restarted = NodeProcess(crashy, "--no-workers")
    try:
        wait_settled(
            network, job_id, 120, f"job {job_id} settled after a crash at {point}", process=restarted
        )
        share = net_of(network, payment) // 3
        tip = tip_of(network, payment)  # to whichever node concluded the job
        wait_until(
            lambda: (
                network.token.functions.balanceOf(crashy.address).call() - balance_before
                in (share, share + tip)
            ),
            30,
            "the restarted node to withdraw its share",
            process=restarted,
        )
    finally:
        restarted.stop()
    slots = [s for s in market.getSlots(job_id).call() if s[0] == crashy.address]
    assert len(slots) == 1 and slots[0][2], "one slot, revealed"
    claims = [t for t in ledger_of(crashy).job_txs(job_id, "claim") if t.status is TxStatus.MINED]
    assert len(claims) == 1, "claimed exactly once"
    info = staking.stakeInfoOf(crashy.address).call()
    assert staking.stakeOf(crashy.address).call() == stake_before and info[1] == 0, (
        "no collateral lost or locked"
    )


def test_a_job_whose_input_is_withheld_is_never_claimed(
    network: Network, pair: tuple[ProviderHome, ProviderHome, ProviderHome], host: Host, tmp_path: Path
) -> None:
    """The dataset is nowhere a provider can fetch it: every node skips the job before claiming, so no
    collateral is ever at stake on it (protocol v2: providers fetch every input before claiming)."""
    import numpy as np
    from safetensors.numpy import save

    from neurolink.content import LocalStore
    from neurolink.spec import JobSpec, MLPArch, Requirements, TrainWorkload

    steady, _, second = pair
    rng = np.random.default_rng(7)
    dataset = save({"x": rng.standard_normal((8, 4)).astype(np.float32), "y": rng.integers(0, 2, 8)})
    cid = LocalStore(tmp_path / "elsewhere").put_bytes(dataset)  # its CID, never in the host's store
    spec = JobSpec(
        workload=TrainWorkload(
            model=MLPArch(in_features=4, hidden=(8,), out_features=2), dataset="data", batch_size=4
        ),
        inputs={"data": cid},
        requirements=Requirements(gpu_count=1, max_runtime_s=10),
    ).canonical_json()
    job_id = create_job(network, spec, host, payment=TOKEN)
    logs = [NodeLog(p) for p in (steady, second)]
    wait_until(lambda: all(log.has("skipping job", job_id) for log in logs), 60, "every node to skip it")
    for log in logs:
        skips = [e for e in log.entries() if e["msg"] == "skipping job" and e["job_id"] == job_id]
        assert skips[0]["reason"].startswith("input not available, not claiming")
    assert not any(log.has("claim sent", job_id) for log in logs)
