"""Tolerant verification end to end: provider nodes in three emulated device classes, each with its own
workers, settle a tolerant inference job and all are paid; a node that adds noise to its result, in one
slot of the next job, is outvoted by fingerprint and its collateral burned."""

from collections.abc import Iterator

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    create_job,
    make_host,
    make_provider,
    stop_all,
    wait_settled,
)

from neurolink.content import LocalStore
from neurolink.protocol.params import VerificationMode
from neurolink.protocol.views import JobStatus, read_job, read_slots
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE, hamming
from node.worker.samples import verification_jobs

pytestmark = pytest.mark.integration

HONEST = ("none", "split-k", "batch-order")
ACCOUNTS = (24, 25, 26, 27)  # three honest classes, then the cheater
PAYMENT = 6 * TOKEN
COLLATERAL = 5 * TOKEN


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> list[Host]:
    """One host per node, each with its own broker, so a node's jobs run on its own (emulated) workers."""
    return [make_host(tmp_path_factory.mktemp(f"class-{i}"), "sqlite") for i in range(len(ACCOUNTS))]


@pytest.fixture(scope="module")
def providers(network: Network, hosts: list[Host]) -> list[ProviderHome]:
    emulations = [*HONEST, "none"]
    return [
        make_provider(network, h, index, emulate=emulation)
        for h, index, emulation in zip(hosts, ACCOUNTS, emulations, strict=True)
    ]


@pytest.fixture(scope="module")
def spec(hosts: list[Host]) -> bytes:
    """The verification benchmark's inference job (a torch.export residual MLP), its inputs in every
    host's content store."""
    job = verification_jobs(seed=21)[0]
    stores = [LocalStore(h.content) for h in hosts]
    cids = {}
    for name, data in job.inputs.items():
        (cids[name],) = {store.put_bytes(data) for store in stores}
    # A runtime bound that fits the devnet's windows (the job itself takes well under a second).
    requirements = job.spec.requirements.model_copy(update={"max_runtime_s": 20})
    update = {"inputs": cids, "replicas": 3, "requirements": requirements}
    canonical = job.spec.model_copy(update=update).canonical_json()
    for store in stores:
        store.put_bytes(canonical)
    return canonical


@pytest.fixture
def nodes() -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    yield started
    stop_all(started)


def _tolerant_job(network: Network, spec: bytes, host: Host) -> int:
    return create_job(
        network,
        spec,
        host,
        payment=PAYMENT,
        replicas=3,
        collateral=COLLATERAL,
        max_gpu_seconds=20,
        verification=VerificationMode.TOLERANT,
        tolerance=DEFAULT_TOLERANCE,
    )


def _stakes(network: Network, providers: list[ProviderHome]) -> list[int]:
    return [network.staking.functions.stakeOf(p.address).call() for p in providers]


def test_three_device_classes_settle_a_tolerant_job_and_a_noisy_node_is_burned(
    network: Network, hosts: list[Host], providers: list[ProviderHome], spec: bytes, nodes: list[NodeProcess]
) -> None:
    honest, cheater = providers[:3], providers[3]
    nodes.extend(NodeProcess(p) for p in honest)
    before = _stakes(network, providers)
    job_id = _tolerant_job(network, spec, hosts[0])
    wait_settled(network, job_id, 300, f"tolerant job {job_id} settled", process=nodes)
    assert read_job(network.market, job_id).status is JobStatus.SETTLED
    slots = read_slots(network.market, job_id)
    assert {s.provider for s in slots} == {p.address for p in honest}, "one slot per class"
    classes = {network.staking.functions.deviceClassOf(s.provider).call() for s in slots}
    assert len(classes) == 3, "three different determinism classes"
    for a in slots:
        for b in slots:
            assert hamming(a.fingerprint, b.fingerprint) <= DEFAULT_TOLERANCE
    assert _stakes(network, providers) == before, "nobody slashed"

    # The last honest class makes way for a node that returns its result plus 1 % noise.
    stop_all([nodes.pop()])
    nodes.append(NodeProcess(cheater, "--fault", "noise"))
    job_id = _tolerant_job(network, spec, hosts[0])
    wait_settled(network, job_id, 300, f"job {job_id} with a noisy slot settled", process=nodes)
    assert read_job(network.market, job_id).status is JobStatus.SETTLED, "the honest pair is a quorum"
    after = _stakes(network, providers)
    assert before[3] - after[3] == COLLATERAL, "the noisy node's collateral is burned"
    assert after[:2] == before[:2], "the honest pair keeps its stake"
    fingerprints = {s.provider: s.fingerprint for s in read_slots(network.market, job_id)}
    assert hamming(fingerprints[cheater.address], fingerprints[honest[0].address]) > DEFAULT_TOLERANCE
