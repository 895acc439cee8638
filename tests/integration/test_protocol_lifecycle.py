"""k=3 jobs on a real anvil with the built contracts: every token balance checked after settlement."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from neurolink.chain.errors import TransactionRevertedError
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import BuildResult
from neurolink.content.cid import cid_to_digest, digest_to_cid
from neurolink.devnet.accounts import dev_account
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.deploy import deploy_protocol
from neurolink.protocol.devnet import advance_time, fund, register_provider
from neurolink.protocol.events import created_job_id
from neurolink.protocol.params import Capabilities, JobParams, Requirements
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import JobPhase, read_job, read_phase

E18 = 10**18
PAYMENT = 90 * E18
COLLATERAL = 10 * E18
STAKE = 1_000 * E18
FEE = PAYMENT * 100 // 10_000  # JobMarket's default 1 %
TIP = FEE // 2  # to whoever concludes the job
BURN = "0x000000000000000000000000000000000000dEaD"
# Exact multi-replica jobs take only providers of one known determinism class.
CAPS = Capabilities(
    gpu_count=1, vram_mb=16_384, tier=1, price_per_gpu_second=10**12, device_class=b"\x0c" * 32
)


@dataclass
class Actors:
    protocol: Contracts
    deployer: TxSender
    requester: TxSender
    providers: list[TxSender]
    treasury: str


@pytest.fixture(scope="module")
def actors(w3: Web3, contracts_built: BuildResult) -> Iterator[Actors]:
    deployer = TxSender(w3, dev_account(0))
    treasury = dev_account(9).address
    protocol = deploy_protocol(deployer, treasury=treasury)
    requester = TxSender(w3, dev_account(1))
    fund(protocol, deployer, requester, 10 * PAYMENT)
    providers = [TxSender(w3, dev_account(i)) for i in (2, 3, 4)]
    for p in providers:
        fund(protocol, deployer, p, STAKE)
        register_provider(protocol, p, CAPS, STAKE)
    yield Actors(protocol, deployer, requester, providers, treasury)


def _digest_of(result: bytes) -> bytes:
    """The digest a provider reveals: the sha2-256 inside the result's (single-block, raw) CID."""
    cid = digest_to_cid(hashlib.sha256(result).digest(), "raw")
    return cid_to_digest(cid)


def _balances(a: Actors) -> dict[str, int]:
    token = a.protocol.token
    names = {"requester": a.requester.address, "treasury": a.treasury, "market": a.protocol.market.address}
    names.update({f"p{i}": p.address for i, p in enumerate(a.providers)})
    names["staking"] = a.protocol.staking.address
    names["burned"] = BURN
    return {name: token.functions.balanceOf(addr).call() for name, addr in names.items()}


def _run_job(a: Actors, results: list[bytes | None], w3: Web3) -> int:
    """Create a k=3 job, claim it with all three providers, commit and reveal `results` (None: silent)."""
    market = a.protocol.market
    params = JobParams(
        spec_digest=hashlib.sha256(b"job spec").digest(),
        payment=PAYMENT,
        replicas=3,
        collateral=COLLATERAL,
        requirements=Requirements(gpu_count=1, vram_mb=8_192, tier=1, max_gpu_seconds=60),
    )
    receipt = a.requester.transact(market.functions.createJob(params.as_tuple()))
    job_id = created_job_id(market, receipt)
    for p in a.providers:
        claim_drawn_slot(p, market, a.protocol.staking, job_id)
    salts = {}
    for p, result in zip(a.providers, results, strict=True):
        if result is not None:
            salts[p.address] = new_salt()
            c = commitment(
                job_id,
                p.address,
                _digest_of(result),
                salts[p.address],
                chain_id=w3.eth.chain_id,
                market=market.address,
            )
            p.transact(market.functions.commit(job_id, c))
    job = read_job(market, job_id)
    advance_time(w3, job.commit_deadline - w3.eth.get_block("latest")["timestamp"] + 1)
    for p, result in zip(a.providers, results, strict=True):
        if result is not None:
            p.transact(market.functions.reveal(job_id, _digest_of(result), bytes(32), salts[p.address]))
    return job_id


def _withdraw_all(a: Actors, w3: Web3) -> None:
    market = a.protocol.market
    for sender in [a.requester, *a.providers, TxSender(w3, dev_account(9))]:
        if market.functions.claimable(sender.address).call():
            sender.transact(market.functions.withdraw())


def test_k3_honest_wrong_silent_fails_but_pays_the_revealers(actors: Actors, w3: Web3) -> None:
    a = actors
    market, staking = a.protocol.market, a.protocol.staking
    before = _balances(a)
    job_id = _run_job(a, [b"the right tensor", b"a wrong tensor", None], w3)

    # One honest, one wrong: no digest reaches the quorum of 2. The last possible reveal concluded it.
    # No free result: both revealers are paid their 1/3 share; the silent slot's collateral is burned.
    assert read_phase(market, job_id) is JobPhase.FAILED
    assert market.functions.resultOf(job_id).call() == bytes(32)
    share = (PAYMENT - FEE) // 3
    assert market.functions.claimable(a.requester.address).call() == PAYMENT - FEE - 2 * share
    assert market.functions.claimable(a.treasury).call() == FEE - TIP
    honest, wrong, silent = a.providers
    assert staking.functions.stakeOf(honest.address).call() == STAKE
    assert staking.functions.freeStakeOf(honest.address).call() == STAKE
    assert staking.functions.stakeOf(wrong.address).call() == STAKE
    assert staking.functions.stakeOf(silent.address).call() == STAKE - COLLATERAL
    with pytest.raises(TransactionRevertedError) as info:
        a.deployer.transact(market.functions.settle(job_id))
    assert info.value.error_name == "JobMarketJobClosed"

    _withdraw_all(a, w3)
    after = _balances(a)
    assert after["requester"] == before["requester"] - FEE - 2 * share
    assert after["treasury"] == before["treasury"] + FEE - TIP
    assert after["p0"] == before["p0"] + share
    assert after["p1"] == before["p1"] + share + TIP  # the wrong provider's reveal concluded the job
    assert after["p2"] == before["p2"]
    assert after["market"] == before["market"] == 0
    assert after["staking"] == before["staking"] - COLLATERAL
    assert after["burned"] == before["burned"] + COLLATERAL, "the slash is nobody's income"
    assert sum(after.values()) == sum(before.values())


def test_k3_two_honest_one_wrong_pays_majority(actors: Actors, w3: Web3) -> None:
    a = actors
    market, staking = a.protocol.market, a.protocol.staking
    before = _balances(a)
    stake_before = [staking.functions.stakeOf(p.address).call() for p in a.providers]
    job_id = _run_job(a, [b"the right tensor", b"a wrong tensor", b"the right tensor"], w3)

    assert market.functions.resultOf(job_id).call() == _digest_of(b"the right tensor")
    pool = PAYMENT - FEE  # no slash bonus: the wrong slot's collateral is burned
    reward = pool // 2
    _withdraw_all(a, w3)
    after = _balances(a)
    assert after["requester"] == before["requester"] - PAYMENT
    assert after["p0"] == before["p0"] + reward
    assert after["p2"] == before["p2"] + reward + TIP  # the last revealer pays the settlement's gas
    assert after["p1"] == before["p1"]
    assert after["treasury"] == before["treasury"] + FEE - TIP + pool - 2 * reward
    assert after["market"] == 0
    assert after["staking"] == before["staking"] - COLLATERAL
    assert after["burned"] == before["burned"] + COLLATERAL
    stake_after = [staking.functions.stakeOf(p.address).call() for p in a.providers]
    assert stake_after == [stake_before[0], stake_before[1] - COLLATERAL, stake_before[2]]
    assert sum(after.values()) == sum(before.values()), "tokens are only moved or burned, never created"


def test_reverts_decode_to_custom_errors_across_contracts(actors: Actors, w3: Web3) -> None:
    """A claim whose collateral exceeds the provider's free stake fails inside Staking; an account
    without stake is refused by the draw; both errors arrive decoded."""
    a = actors
    market = a.protocol.market
    params = JobParams(
        spec_digest=hashlib.sha256(b"spec").digest(), payment=E18, replicas=3, collateral=STAKE + 1
    )
    job_id = created_job_id(market, a.requester.transact(market.functions.createJob(params.as_tuple())))
    stranger = TxSender(w3, dev_account(8))
    with pytest.raises(TransactionRevertedError) as info:
        stranger.transact(market.functions.claim(job_id, 0))
    assert info.value.error_name == "JobMarketNotEligible"
    assert info.value.error_args == {"jobId": job_id, "slot": 0, "provider": stranger.address}
    provider = a.providers[0]
    with pytest.raises(TransactionRevertedError) as info:
        provider.transact(market.functions.claim(job_id, 0))
    assert info.value.error_name == "StakingInsufficientFreeStake"
    assert info.value.error_args == {"account": provider.address, "free": STAKE, "needed": STAKE + 1}
    with pytest.raises(TransactionRevertedError) as info:
        a.requester.transact(market.functions.reveal(job_id, b"\x01" * 32, bytes(32), bytes(32)))
    assert info.value.error_name == "JobMarketNotAssigned"
    a.requester.transact(market.functions.cancel(job_id))
    a.requester.transact(market.functions.withdraw())
