"""The Python settlement mirror equals the contract: the same random reveal patterns run on anvil."""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from neurolink.chain.tx import TxSender
from neurolink.compiler.build import BuildResult
from neurolink.devnet.accounts import dev_account
from neurolink.protocol.commitment import commitment
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.deploy import deploy_protocol
from neurolink.protocol.devnet import advance_time, fund, register_provider
from neurolink.protocol.events import created_job_id
from neurolink.protocol.params import Capabilities, JobParams, quorum_range
from neurolink.protocol.settlement import settle
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import JobStatus, read_job

PATTERNS = 24
MAX_K = 6
STAKE = 10**22
SILENT, COMMIT_ONLY = "silent", "commit-only"
DIGESTS = [hashlib.sha256(f"result {i}".encode()).digest() for i in range(3)]
SALT = bytes(31) + b"\x07"


@dataclass
class Net:
    protocol: Contracts
    requester: TxSender
    providers: list[TxSender]
    treasury: str


@pytest.fixture(scope="module")
def net(w3: Web3, contracts_built: BuildResult) -> Iterator[Net]:
    deployer = TxSender(w3, dev_account(0))
    protocol = deploy_protocol(deployer, treasury=dev_account(19).address)
    requester = TxSender(w3, dev_account(1))
    fund(protocol, deployer, requester, 10**24)
    providers = []
    for i in range(10, 10 + MAX_K):
        sender = TxSender(w3, dev_account(i))
        w3.provider.make_request("anvil_setBalance", [sender.address, hex(10**21)])  # type: ignore[arg-type]
        fund(protocol, deployer, sender, STAKE)
        register_provider(protocol, sender, Capabilities(1, 1_024, 0, 1, device_class=b"\x0c" * 32), STAKE)
        providers.append(sender)
    yield Net(protocol, requester, providers, dev_account(19).address)


def _pattern(rng: random.Random) -> tuple[JobParams, list[str | bytes]]:
    k = rng.choice([1, *range(3, MAX_K + 1)])  # two replicas are rejected by the contract
    claimed = k if rng.random() < 0.8 else rng.randint(1, k)
    low, high = quorum_range(k)
    choices: list[str | bytes] = [SILENT, *DIGESTS, DIGESTS[0]] + ([COMMIT_ONLY] if k > 1 else [])
    params = JobParams(
        spec_digest=rng.randbytes(32),
        payment=rng.randint(1, 10**21),
        replicas=k,
        quorum=rng.choice([0, rng.randint(low, high)]),
        collateral=rng.randint(1, 10**19),
    )
    return params, [rng.choice(choices) for _ in range(claimed)]


def _snapshot(net: Net) -> tuple[list[int], list[int], int, int]:
    market, staking = net.protocol.market, net.protocol.staking
    return (
        [market.functions.claimable(p.address).call() for p in net.providers],
        [staking.functions.stakeOf(p.address).call() for p in net.providers],
        market.functions.claimable(net.treasury).call(),
        market.functions.claimable(net.requester.address).call(),
    )


def _until(w3: Web3, deadline: int) -> None:
    now = w3.eth.get_block("latest")["timestamp"]
    if now <= deadline:
        advance_time(w3, deadline - now + 1)


@pytest.mark.parametrize("seed", range(PATTERNS))
def test_contract_settles_like_the_mirror(net: Net, w3: Web3, seed: int) -> None:
    params, actions = _pattern(random.Random(seed))
    market = net.protocol.market
    job_id = created_job_id(market, net.requester.transact(market.functions.createJob(params.as_tuple())))
    slots = net.providers[: len(actions)]
    before = _snapshot(net)
    for p in slots:
        claim_drawn_slot(p, market, net.protocol.staking, job_id)  # slot i: every provider is drawn
    job = read_job(market, job_id)
    concluder = net.requester.address
    if len(actions) < params.replicas:
        _until(w3, job.claim_deadline)  # never filled: nothing more happens before settlement
    else:
        if params.replicas > 1:
            scope = {"chain_id": w3.eth.chain_id, "market": market.address}
            for p, action in zip(slots, actions, strict=True):
                if action != SILENT:
                    digest = action if isinstance(action, bytes) else DIGESTS[0]
                    c = commitment(job_id, p.address, digest, SALT, **scope)
                    p.transact(market.functions.commit(job_id, c))
            _until(w3, job.commit_deadline)
        for p, action in zip(slots, actions, strict=True):
            if isinstance(action, bytes):
                p.transact(market.functions.reveal(job_id, action, bytes(32), SALT))
                if (
                    read_job(market, job_id).status is not JobStatus.OPEN
                    and concluder == net.requester.address
                ):
                    concluder = p.address
        _until(w3, job.reveal_deadline)
    if read_job(market, job_id).status is JobStatus.OPEN:  # nobody concluded it yet
        net.requester.transact(market.functions.settle(job_id))

    expected = settle(
        payment=params.payment,
        collateral=params.collateral_amount,
        quorum=params.effective_quorum,
        fee_bps=job.fee_bps,
        reveals=[a if isinstance(a, bytes) else None for a in actions],
        replicas=params.replicas,
    )
    after = _snapshot(net)
    n = len(actions)
    tips = tuple(expected.tip if p.address == concluder else 0 for p in slots)
    rewards = tuple(after[0][i] - before[0][i] - tips[i] for i in range(n))
    lost = tuple(before[1][i] - after[1][i] for i in range(n))
    assert rewards == expected.rewards, (actions, expected)
    assert lost == tuple(params.collateral_amount if s else 0 for s in expected.slashed), (actions, expected)
    assert after[2] - before[2] == expected.treasury
    assert after[3] - before[3] == expected.refund + (
        expected.tip if concluder == net.requester.address else 0
    )
    assert market.functions.resultOf(job_id).call() == (expected.winning_digest or bytes(32))
