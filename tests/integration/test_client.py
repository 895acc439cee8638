"""The requester SDK on a real anvil: quote, permit and approve submits, cancel, and a full round with a
cheater, the providers played by hand through the same contract calls a node makes."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.client import Client, JobState, SubmitOptions
from coordinator.errors import JobNotFoundError, ResultUnavailableError
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.config import Settings, load_settings
from neurolink.content import LocalStore
from neurolink.content.gateway import GatewayServer
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, start_anvil
from neurolink.devnet.bootstrap import deploy_devnet, fund, register_provider
from neurolink.devnet.funding import fund_account
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.params import Capabilities, VerificationMode, minimum_reserve
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import JobPhase, read_job
from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements, Verification

REQUESTER = 1
PROVIDERS = (2, 3, 4)
STAKE = 1_000 * 10**18
# The providers played by hand share one determinism class: exact multi-replica jobs need one.
CAPABILITIES = Capabilities(1, 16_384, 0, 0, device_class=b"\x5c" * 32)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Anvil, Settings]]:
    home = tmp_path_factory.mktemp("home")
    # The requester's store served as providers would reach it: `job submit` refuses content they cannot.
    gateway = GatewayServer(LocalStore(home / "content"), port=0)
    gateway.start()
    with start_anvil() as node:
        settings = load_settings(home=home, rpc_url=node.rpc_url, content_gateways=[gateway.url])
        w3 = connect(node.rpc_url)
        contracts = Contracts.bind(w3, deploy_devnet(w3, settings))
        fund(contracts, dev_account(REQUESTER))
        for index in PROVIDERS:
            fund(contracts, dev_account(index))
            register_provider(contracts, dev_account(index), STAKE, CAPABILITIES)
        yield node, settings
    gateway.shutdown()


@pytest.fixture
def client(net: tuple[Anvil, Settings]) -> Client:
    return Client(net[1], dev_account(REQUESTER))


def _spec(replicas: int = 1, verification: Verification | None = None) -> JobSpec:
    return JobSpec(
        workload=BenchmarkWorkload(size=64, iterations=1),
        requirements=Requirements(max_runtime_s=30),
        replicas=replicas,
        **({} if verification is None else {"verification": verification}),
    )


def _verification_of(client: Client, job_id: int) -> tuple[object, ...]:
    """getJob's (verification, tolerance, deviceClass, reserve)."""
    return tuple(client.contracts.market.functions.getJob(job_id).call()[18:22])


def _balance(client: Client, index: int = REQUESTER) -> int:
    return int(client.contracts.token.functions.balanceOf(dev_account(index).address).call())


def test_quote_shows_its_factors_and_follows_demand(client: Client) -> None:
    quiet = client.quote(_spec())
    assert quiet.base_price == max(30 * client.pricing.rate_per_gpu_second, client.pricing.minimum_price)
    assert quiet.capability_factor == 0
    opened = [client.submit(_spec(), SubmitOptions(payment=10**18)).job_id for _ in range(3)]
    busy = client.quote(_spec())
    assert busy.demand_factor > quiet.demand_factor, "open jobs per free provider raise the price"
    assert busy.seasonal_adjustment == 1, "three jobs are too little history for a season"
    assert busy.price > quiet.price
    for job_id in opened:
        client.cancel(job_id)


def test_permit_submit_then_cancel_refunds_exactly_once(client: Client) -> None:
    before = _balance(client)
    job = client.submit(_spec(), SubmitOptions(payment=5 * 10**17))
    assert job.used_permit, "NeuroToken supports ERC-2612: one transaction, no approve"
    assert _balance(client) == before - job.payment
    status = client.status(job.job_id)
    assert status.phase == JobPhase.CLAIMING and status.record.payment == job.payment
    assert job.job_id in [s.job_id for s in client.list()]

    refunded = client.cancel(job.job_id)
    assert refunded == job.payment and _balance(client) == before
    assert client.status(job.job_id).phase == JobPhase.CANCELLED
    assert client.withdraw() == 0, "nothing is owed twice"


def test_recheck_gives_the_same_spec_a_fresh_nonce(client: Client) -> None:
    """`--recheck`: the same spec twice yields different spec CIDs (a new seed each time), so no
    earlier job's public digest answers the re-check."""
    spec = _spec(replicas=3)
    plain = client.submit(spec, SubmitOptions(payment=10**17))
    first = client.submit(spec, SubmitOptions(payment=10**17, recheck=True))
    second = client.submit(spec, SubmitOptions(payment=10**17, recheck=True))
    assert len({plain.spec_cid, first.spec_cid, second.spec_cid}) == 3
    seeds = [JobSpec.from_json(client.store.get_bytes(j.spec_cid)).seed for j in (plain, first, second)]
    assert seeds[0] == 0 and seeds[1] != 0 and seeds[2] not in (0, seeds[1])
    for job in (plain, first, second):
        client.cancel(job.job_id)


def test_a_tolerant_job_without_escalation_approves_the_payment_only(client: Client) -> None:
    before = _balance(client)
    spec = _spec(replicas=3, verification=Verification(mode="tolerant", tolerance=10, escalate=False))
    job = client.submit(spec, SubmitOptions(payment=10**17, permit=False))
    assert not job.used_permit and job.reserve == 0 and job.verification == "tolerant"
    assert _balance(client) == before - job.payment
    assert _verification_of(client, job.job_id) == (VerificationMode.TOLERANT, 10, bytes(32), 0)
    client.cancel(job.job_id)


def test_approve_path_for_tokens_without_permit(client: Client) -> None:
    job = client.submit(_spec(), SubmitOptions(payment=10**17, permit=False))
    assert not job.used_permit
    assert client.status(job.job_id).record.requester == dev_account(REQUESTER).address
    client.cancel(job.job_id)


def test_spec_file_inputs_are_uploaded_and_replaced_by_cids(client: Client, tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"training rows" * 100)
    spec_file = tmp_path / "train.json"
    spec_file.write_text(
        json.dumps(
            {
                "workload": {
                    "kind": "train",
                    "model": {"arch": "mlp", "in_features": 8, "out_features": 4},
                    "dataset": "data",
                },
                "inputs": {"data": "data.bin"},
            }
        )
    )
    spec = client.load_spec(spec_file)
    cid = spec.inputs["data"]
    assert client.store.get_bytes(cid) == b"training rows" * 100


def test_full_round_with_a_cheater_pays_the_majority(client: Client, tmp_path: Path) -> None:
    # No re-run: the vote of the first round decides, and the lone cheater is outvoted.
    spec = _spec(replicas=3, verification=Verification(mode="exact", escalate=False))
    job = client.submit(spec, SubmitOptions(payment=3 * 10**18))
    contracts = client.contracts
    honest = client.store.put_bytes(b"the honest result")
    wrong = client.store.put_bytes(b"a made-up result")
    from neurolink.content import cid_to_digest

    salts = {}
    senders = {i: TxSender(client.w3, dev_account(i)) for i in PROVIDERS}
    for sender in senders.values():
        claim_drawn_slot(sender, contracts.market, contracts.staking, job.job_id)
    for index, sender in senders.items():
        digest = cid_to_digest(wrong if index == PROVIDERS[-1] else honest)
        salts[index] = (digest, new_salt())
        c = commitment(
            job.job_id,
            sender.address,
            digest,
            salts[index][1],
            chain_id=client.w3.eth.chain_id,
            market=contracts.market.address,
        )
        sender.transact(contracts.market.functions.commit(job.job_id, c))
    stake_before = {i: contracts.staking.functions.stakeOf(dev_account(i).address).call() for i in PROVIDERS}

    # The requester follows the job from before the first reveal: every change reaches the callback.
    seen: list[tuple[JobPhase, int]] = []
    following = threading.Event()
    box: dict[str, JobState] = {}

    def on_change(state: JobState) -> None:
        seen.append((state.phase, state.record.revealed))
        following.set()

    waiter = threading.Thread(
        target=lambda: box.update(final=client.wait(job.job_id, timeout=30, on_change=on_change))
    )
    waiter.start()
    assert following.wait(10)
    for index, sender in senders.items():
        digest, salt = salts[index]
        sender.transact(contracts.market.functions.reveal(job.job_id, digest, bytes(32), salt))
    waiter.join(30)
    final = box["final"]
    assert seen[0] == (JobPhase.REVEALING, 0), seen
    assert seen[-1][0] == JobPhase.SETTLED and seen[-1][1] == len(PROVIDERS), seen
    assert [r for _, r in seen] == sorted(r for _, r in seen), "reveal counts only grow"
    assert len(seen) == len(set(seen)), "each change is reported once"
    assert final.phase == JobPhase.SETTLED and final.result_digest == "0x" + cid_to_digest(honest).hex()
    cheater = dev_account(PROVIDERS[-1]).address
    stake_after = contracts.staking.functions.stakeOf(cheater).call()
    assert stake_after == stake_before[PROVIDERS[-1]] - job.collateral, "the cheater lost its collateral"
    for index in PROVIDERS[:-1]:
        assert contracts.market.functions.claimable(dev_account(index).address).call() > 0

    scans: list[tuple[str, int | None]] = []
    real_logs = client._logs

    def logs(contract: object, event: str, from_block: int | None = None, **filters: object) -> object:
        scans.append((event, from_block))
        return real_logs(contract, event, from_block, **filters)  # type: ignore[arg-type]

    client._logs = logs  # type: ignore[assignment,method-assign]  # a spy: every read reaches the chain
    result = client.result(job.job_id, tmp_path / "out")
    # The metrics read the job's events from its creation block, not the whole chain since deployment.
    created_block = read_job(contracts.market, job.job_id).created_block
    assert created_block > 0 and scans[0] == ("JobCreated", created_block), scans
    assert all(first is not None and first >= created_block for _, first in scans), scans
    assert result.cid == honest and result.path.read_bytes() == b"the honest result"
    assert result.metrics_path == result.path.with_name(f"job-{job.job_id}-metrics.json")
    metrics = json.loads(result.metrics_path.read_text())
    assert metrics["verified"] == {}, "an opaque result carries no figures"
    assert metrics["created_at"] <= metrics["settled_at"]
    committed = {p["address"]: p["claim_to_commit_s"] >= 0 for p in metrics["providers"]}
    assert committed == {dev_account(i).address: True for i in PROVIDERS}


def test_unknown_job_and_missing_result_are_named(client: Client, tmp_path: Path) -> None:
    with pytest.raises(JobNotFoundError, match="no job 999999"):
        client.status(999_999)
    job = client.submit(_spec(), SubmitOptions(payment=10**17))
    with pytest.raises(ResultUnavailableError, match="is claiming, not settled"):
        client.result(job.job_id, tmp_path)
    client.cancel(job.job_id)


def test_submit_refuses_content_no_provider_can_reach(net: tuple[Anvil, Settings]) -> None:
    """A requester whose store nobody can read gets a refusal naming the CID, and keeps its tokens."""
    from coordinator.errors import ContentUnreachableError

    alone = net[1].model_copy(update={"content_gateways": ""})
    client = Client(alone, dev_account(REQUESTER))
    before = _balance(client)
    spec = _spec()
    with pytest.raises(ContentUnreachableError, match=r"bafkrei\w+ is only in this machine's store"):
        client.submit(spec, SubmitOptions(payment=10**18))
    assert _balance(client) == before
    assert client.contracts.next_job_id() == Client(net[1], None).contracts.next_job_id()


def test_permit_deadline_follows_the_chain_clock(net: tuple[Anvil, Settings], client: Client) -> None:
    """Last in this module: it moves the chain clock two hours past the wall clock, as a cooldown test does.

    A permit deadline taken from the wall clock is then already past on the chain, and createJob reverts.
    """
    from neurolink.devnet.anvil import rpc_call

    rpc_call(net[0].rpc_url, "evm_increaseTime", [2 * 3600])
    rpc_call(net[0].rpc_url, "evm_mine")
    job = client.submit(_spec(), SubmitOptions(payment=10**18))
    assert job.used_permit
    assert client.status(job.job_id).phase == JobPhase.CLAIMING


def test_a_k3_job_escrows_a_rerun_reserve_only_where_a_rerun_can_fill(
    client: Client, net: tuple[Anvil, Settings]
) -> None:
    """An exact benchmark at k = 3 re-runs a disagreement by default, on 2k + 1 = 7 fresh providers. With
    the module's three providers no reserve is escrowed (the vote decides); once ten have free stake,
    the payment and a reserve of payment * 7 / 3 go in the one permit, and cancelling refunds both.
    Last in the module: the seven providers it adds would thin the others' sortition draws."""
    small = client.submit(_spec(replicas=3), SubmitOptions(payment=3 * 10**17))
    assert small.reserve == 0 and small.as_dict()["reserve"] == "0"
    assert _verification_of(client, small.job_id) == (VerificationMode.EXACT, 0, bytes(32), 0)
    client.cancel(small.job_id)
    for index in range(PROVIDERS[-1] + 1, PROVIDERS[-1] + 8):
        account = dev_account(index)
        fund_account(client.contracts, net[0].rpc_url, account.address, eth=10**18, tokens=STAKE)
        register_provider(client.contracts, account, STAKE, CAPABILITIES)
    before = _balance(client)
    job = client.submit(_spec(replicas=3), SubmitOptions(payment=3 * 10**17))
    assert job.used_permit and job.verification == "exact"
    assert job.reserve == minimum_reserve(3 * 10**17, 3) == 7 * 10**17
    assert job.as_dict()["reserve"] == str(7 * 10**17)
    assert _balance(client) == before - job.payment - job.reserve
    assert _verification_of(client, job.job_id) == (VerificationMode.EXACT, 0, bytes(32), job.reserve)
    assert client.cancel(job.job_id) == job.payment + job.reserve
    assert _balance(client) == before


def _result_file(path: Path, values: list[float]) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"output": np.asarray(values, dtype=np.float32)}, str(path))
    return path


def test_a_tolerant_result_whose_digest_lies_gives_way_to_a_member_whose_file_matches(
    client: Client, tmp_path: Path
) -> None:
    """The adversary computes honestly (so its fingerprint joins the honest group and it is paid) but
    reveals the digest of another real file, and holds slot 0, so its digest is the job's. The old
    client checked only that the file hashed to that digest and handed the requester the wrong file."""
    from neurolink.content import cid_to_digest
    from neurolink.protocol.devnet import advance_time
    from neurolink.verification.fingerprint import fingerprint_file

    spec = _spec(replicas=3, verification=Verification(mode="tolerant", escalate=False))
    job = client.submit(spec, SubmitOptions(payment=3 * 10**18))
    contracts = client.contracts
    record = read_job(contracts.market, job.job_id)
    seed = bytes(client.w3.eth.get_block(record.created_block)["hash"])
    honest = _result_file(tmp_path / "honest.safetensors", [1.0, 2.0, 3.0, 4.0])
    other = _result_file(tmp_path / "other.safetensors", [9.0, 8.0, 7.0, 6.0])
    digests = {p: cid_to_digest(client.store.put_file(p)) for p in (honest, other)}
    fingerprint = fingerprint_file(honest, seed)
    assert fingerprint_file(other, seed) != fingerprint

    # Late in the claim window every provider is drawn for every slot: the liar takes slot 0.
    advance_time(client.w3, record.claim_deadline - client.w3.eth.get_block("latest")["timestamp"] - 2)
    liar, *fair = PROVIDERS
    senders = {i: TxSender(client.w3, dev_account(i)) for i in PROVIDERS}
    for slot, index in enumerate([liar, *fair]):
        senders[index].transact(contracts.market.functions.claim(job.job_id, slot))
    reveals = {i: (digests[other] if i == liar else digests[honest], new_salt()) for i in PROVIDERS}
    scope = {"chain_id": client.w3.eth.chain_id, "market": contracts.market.address}
    for index, sender in senders.items():
        digest, salt = reveals[index]
        c = commitment(job.job_id, sender.address, digest, salt, fingerprint=fingerprint, **scope)
        sender.transact(contracts.market.functions.commit(job.job_id, c))
    for index, sender in senders.items():
        digest, salt = reveals[index]
        sender.transact(contracts.market.functions.reveal(job.job_id, digest, fingerprint, salt))
    final = client.wait(job.job_id, timeout=60)
    assert final.phase is JobPhase.SETTLED
    assert final.result_digest == "0x" + digests[other].hex(), "the liar's digest is the job's"

    result = client.result(job.job_id, tmp_path / "out")
    assert result.path.read_bytes() == honest.read_bytes()
    assert result.digest == "0x" + digests[honest].hex()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"job-{job.job_id}-metrics.json",
        f"job-{job.job_id}-result.safetensors",
    ], "the refused file is not left behind"
