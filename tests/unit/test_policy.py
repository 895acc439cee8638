"""The claim policy: each reason a job is refused, and the priority order of the rest."""

from dataclasses import replace

from neurolink.protocol.params import Requirements
from neurolink.protocol.views import JobStatus
from node.daemon.market import ChainJob
from node.daemon.policy import Capacity, Policy

ME = "0x" + "aa" * 20
NOW = 1_000_000
JOB = ChainJob(
    job_id=1,
    requester="0x" + "bb" * 20,
    claim_deadline=NOW + 600,
    commit_deadline=NOW + 1200,
    reveal_deadline=NOW + 1800,
    payment=3_000,
    collateral=50,
    replicas=3,
    quorum=2,
    claimed=0,
    committed=0,
    revealed=0,
    status=JobStatus.OPEN,
    requirements=Requirements(gpu_count=1, vram_mb=1024, tier=0, max_gpu_seconds=100),
    fee_bps=0,
    spec_digest=b"\x01" * 32,
)


def needing(**requirements: int) -> ChainJob:
    """JOB with other requirements."""
    return replace(JOB, requirements=replace(JOB.requirements, **requirements))


POLICY = Policy(Capacity(devices=2, vram_mb=4096, tier=1, max_runtime_s=600, price_per_gpu_second=10), ME)


def test_a_fitting_job_is_claimed() -> None:
    assert POLICY.fits(JOB, NOW).claim
    assert POLICY.can_claim_now(JOB, NOW, busy_devices=0, free_stake=50).claim


def test_each_misfit_says_why() -> None:
    cases = {
        "needs 3 devices, node has 2": needing(gpu_count=3),
        "needs 8192 MiB per device": needing(vram_mb=8192),
        "needs hardware tier 2": needing(tier=2),
        "declares 700s of runtime": needing(max_gpu_seconds=700),
        "below the price 1000": replace(JOB, payment=2_999),
        "own job": replace(JOB, requester=ME),
        "too close": replace(JOB, commit_deadline=NOW + 120),
    }
    for reason, job in cases.items():
        decision = POLICY.fits(job, NOW)
        assert not decision.claim and reason in decision.reason, (reason, decision.reason)
    # The fee comes off the payment before the price check.
    assert "after fees" in POLICY.fits(replace(JOB, fee_bps=100), NOW).reason


def test_momentary_obstacles() -> None:
    assert "busy" in POLICY.can_claim_now(JOB, NOW, busy_devices=2, free_stake=50).reason
    assert "free stake" in POLICY.can_claim_now(JOB, NOW, busy_devices=0, free_stake=49).reason
    assert "slot" in POLICY.can_claim_now(replace(JOB, claimed=3), NOW, 0, 50).reason
    assert "closed" in POLICY.can_claim_now(JOB, NOW + 601, 0, 50).reason


def test_a_slot_given_back_after_the_job_filled_is_claimable_until_the_commit_deadline() -> None:
    reopened = replace(JOB, filled=True, claimed=2)
    assert POLICY.can_claim_now(reopened, NOW + 601, 0, 50).claim
    assert "closed" in POLICY.can_claim_now(reopened, NOW + 1201, 0, 50).reason


def test_candidates_are_ordered_by_priority_score() -> None:
    rich = replace(JOB, job_id=2, requester="0x" + "cc" * 20)
    urgent = replace(JOB, job_id=3, claim_deadline=NOW + 60)
    heavy = replace(needing(max_gpu_seconds=400), job_id=4, payment=10**6)
    order = POLICY.order([JOB, rich, urgent, heavy], {rich.requester: 10**21}, NOW)
    # rich 0.4 + 0.3*0.25 = 0.475; urgent 0.3*0.9 + 0.075 = 0.345; heavy 0.3; plain 0.075.
    assert [j.job_id for j in order] == [2, 3, 4, 1]


def test_a_busy_node_queues_a_job_only_if_its_deadline_allows_the_wait() -> None:
    queueing = Policy(replace(POLICY.capacity, jobs_per_device=2), ME)
    # Both devices busy: the job waits its turn in a device's queue, claimed now.
    assert queueing.can_claim_now(JOB, NOW, busy_devices=2, free_stake=50, backlog_s=100).claim
    # Unless the claimed work ahead would push it past its commit deadline:
    # 1,100 s ahead + 100 s of runtime + 30 s of margin > the 1,200 s left.
    late = queueing.can_claim_now(JOB, NOW, busy_devices=2, free_stake=50, backlog_s=1_100)
    assert not late.claim and "commit deadline" in late.reason, late.reason
    # A device holds at most `jobs_per_device` claimed jobs.
    assert "busy" in queueing.can_claim_now(JOB, NOW, busy_devices=4, free_stake=50).reason
    # One job per device (the Capacity default): a busy node claims nothing, whatever the deadline.
    assert "busy" in POLICY.can_claim_now(JOB, NOW, busy_devices=2, free_stake=50, backlog_s=0).reason
