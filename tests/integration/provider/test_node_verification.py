"""Tolerant verification end to end: provider nodes in three emulated device classes, each with its own
workers, settle a tolerant inference job and all are paid; a node that adds noise to its result, in one
slot of the next job, is outvoted by fingerprint and its collateral burned; with a reserve, the same
dissent escalates to a re-run that decides."""

from collections.abc import Iterator

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeLog,
    NodeProcess,
    ProviderHome,
    create_job,
    make_host,
    make_provider,
    stop_all,
    wait_settled,
    wait_until,
)

from neurolink.chain.tx import TxSender
from neurolink.content import LocalStore
from neurolink.devnet.accounts import dev_account
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.errors import NotDrawnError
from neurolink.protocol.params import VerificationMode, minimum_reserve
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import JobPhase, JobStatus, read_job, read_phase, read_slots
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE, hamming
from node.worker.samples import verification_jobs

pytestmark = pytest.mark.integration

HONEST = ("none", "split-k", "batch-order")
ACCOUNTS = (24, 25, 26, 27)  # three honest classes, then the cheater
LATE = 28  # stakes after the escalating job exists: drawn only for its re-run
SCRIPTED = tuple(range(29, 35))  # six re-run providers played by the test
BURN = "0x000000000000000000000000000000000000dEaD"
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


def _tolerant_job(network: Network, spec: bytes, host: Host, reserve: int = 0) -> int:
    """A k = 3 tolerant job of `spec` at the default tolerance; a reserve lets a dissent escalate."""
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
        reserve=reserve,
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


def test_a_disagreement_escalates_the_rerun_decides_and_the_liar_is_burned(
    network: Network, hosts: list[Host], providers: list[ProviderHome], spec: bytes, nodes: list[NodeProcess]
) -> None:
    """Round 1: two honest classes and the noisy node; the noise is dissent, so 7 fresh slots re-run the
    job: a node that could not be drawn in round 1 (it staked after the job was created) takes one of
    them on JobEscalated, and six scripted providers repeat the honest result. The re-run sides with the
    honest pair: the liar is burned, the honest keep their stake (forge checks conservation)."""
    honest, cheater = providers[:2], providers[3]
    stakes = [network.staking.functions.stakeOf(p.address).call() for p in providers]
    burned = network.token.functions.balanceOf(BURN).call()
    job_id = _tolerant_job(network, spec, hosts[0], reserve=minimum_reserve(PAYMENT, 3))
    # Staked after the job was created, and its node watches from a later block: it never sees
    # JobCreated, so only JobEscalated can bring the job to it (and its stake counts for the re-run).
    late = make_provider(network, hosts[2], LATE, emulate="batch-order")
    for index in SCRIPTED:
        make_provider(network, hosts[0], index)
    nodes.extend([*(NodeProcess(p) for p in (*honest, late)), NodeProcess(cheater, "--fault", "noise")])
    wait_until(
        lambda: read_job(network.market, job_id).escalated, 240, f"job {job_id} escalated", process=nodes
    )

    # Scripted re-run providers repeat the honest result revealed in round 1, once drawn.
    first = {s.provider: s for s in read_slots(network.market, job_id)}[honest[0].address]
    senders = [TxSender(network.w3, dev_account(index)) for index in SCRIPTED]
    salts = {s.address: new_salt() for s in senders}
    scope = {"chain_id": network.w3.eth.chain_id, "market": network.market.address}

    def claimed_all() -> bool:
        holders = {s.provider for s in read_slots(network.market, job_id)}
        for sender in (s for s in senders if s.address not in holders):
            try:
                claim_drawn_slot(sender, network.market, network.staking, job_id)
            except NotDrawnError:
                return False
        return True

    wait_until(claimed_all, 120, "scripted re-run claims", process=nodes)
    for sender in senders:
        salt = salts[sender.address]
        c = commitment(job_id, sender.address, first.digest, salt, fingerprint=first.fingerprint, **scope)
        sender.transact(network.market.functions.commit(job_id, c))
    revealing = lambda: read_phase(network.market, job_id) is JobPhase.REVEALING  # noqa: E731
    wait_until(revealing, 120, "re-run reveals open", process=nodes)
    for sender in senders:
        reveal = network.market.functions.reveal(
            job_id, first.digest, first.fingerprint, salts[sender.address]
        )
        sender.transact(reveal)
    wait_settled(network, job_id, 120, f"escalated job {job_id} settled", process=nodes)

    job = read_job(network.market, job_id)
    assert job.status is JobStatus.SETTLED and job.escalated
    assert NodeLog(late).has("job queued", job_id), "the late node learnt of the job from JobEscalated"
    slots = {s.provider: s for s in read_slots(network.market, job_id)}
    assert slots[late.address].index >= 3 and slots[late.address].revealed, "the late node ran the re-run"
    after = [network.staking.functions.stakeOf(p.address).call() for p in providers]
    assert stakes[3] - after[3] == COLLATERAL, "the liar is burned"
    assert after[:3] == stakes[:3], "the honest keep their stake"
    assert network.token.functions.balanceOf(BURN).call() - burned == COLLATERAL, "nobody else burned"
