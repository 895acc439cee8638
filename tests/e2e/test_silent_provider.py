"""A provider that claims and then goes silent loses its collateral; the job still settles."""

import time
from collections.abc import Iterator

import pytest
from conftest import TOKEN, Devnet, start_devnet

from neurolink.devnet.accounts import dev_account
from neurolink.devnet.network import FIRST_PROVIDER_INDEX
from neurolink.protocol.devnet import advance_time
from neurolink.protocol.views import JobPhase

pytestmark = pytest.mark.e2e
SILENT = dev_account(FIRST_PROVIDER_INDEX + 2).address


@pytest.fixture(scope="module")
def silent_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from start_devnet(tmp_path_factory.mktemp("devnet"), "2=silent")


def test_silent_provider_is_slashed_and_the_honest_majority_paid(silent_devnet: Devnet) -> None:
    from coordinator.client import SubmitOptions
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    client = silent_devnet.client()
    staking = client.contracts.staking.functions
    stake = staking.stakeOf(SILENT).call()
    spec = JobSpec(workload=BenchmarkWorkload(size=64, iterations=2), replicas=3,
                   requirements=Requirements(max_runtime_s=10))  # fmt: skip
    job = client.submit(spec, SubmitOptions(payment=3 * TOKEN))

    deadline = time.monotonic() + 120
    while client.status(job.job_id).record.committed < 2:
        assert time.monotonic() < deadline, "the two honest nodes did not commit"
        time.sleep(0.2)
    record = client.status(job.job_id).record
    assert record.claimed == 3 and SILENT in client.status(job.job_id).providers
    # The silent slot never commits: move the chain past the commit deadline instead of sleeping.
    now = client.w3.eth.get_block("latest")["timestamp"]
    advance_time(client.w3, record.commit_deadline - now + 2)

    final = client.wait(job.job_id, timeout=120)
    assert final.phase == JobPhase.SETTLED and final.record.revealed == 2
    assert staking.stakeOf(SILENT).call() == stake - job.collateral, "silence costs the collateral"
