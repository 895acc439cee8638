"""Which jobs this node claims: only those it can run at a payment covering its price, best score first."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from neurolink.protocol.priority import PriorityInputs, rank
from node.daemon.market import ChainJob

log = logging.getLogger(__name__)

BPS = 10_000


@dataclass(frozen=True)
class Capacity:
    """What the node offers: device slots, memory per device, tier, longest runtime, price."""

    devices: int
    vram_mb: int
    tier: int
    max_runtime_s: int
    price_per_gpu_second: int
    deadline_margin_s: int = 30
    # Claimed jobs a device may hold at once: beyond the first, each waits its turn (claimed while
    # another computes, so the device never idles between jobs), if its deadline allows the wait.
    jobs_per_device: int = 1


@dataclass(frozen=True)
class Decision:
    """Claim or not, and why not (the reason goes to the log and the ledger)."""

    claim: bool
    reason: str = ""


class Policy:
    """Static fit (hardware, price, time) per job, and the priority order among the ones that fit."""

    def __init__(self, capacity: Capacity, me: str) -> None:
        self.capacity = capacity
        self.me = me.lower()

    def fits(self, job: ChainJob, now: int) -> Decision:
        """Whether this node could ever run `job` profitably; the reason names the first mismatch."""
        cap = self.capacity
        if job.requester.lower() == self.me:
            return Decision(False, "own job: a requester cannot claim its own job")
        if job.gpu_count > cap.devices:
            return Decision(False, f"needs {job.gpu_count} devices, node has {cap.devices}")
        if job.vram_mb > cap.vram_mb:
            return Decision(False, f"needs {job.vram_mb} MiB per device, node has {cap.vram_mb}")
        if job.tier > cap.tier:
            return Decision(False, f"needs hardware tier {job.tier}, node is tier {cap.tier}")
        runtime = self.runtime_s(job)
        if runtime > cap.max_runtime_s:
            return Decision(False, f"declares {runtime}s of runtime, node allows {cap.max_runtime_s}s")
        price = cap.price_per_gpu_second * job.max_gpu_seconds
        share = self.share(job)
        if share < price:
            return Decision(
                False,
                f"pays {share} per replica after fees, below the price {price} "
                f"({cap.price_per_gpu_second}/GPU-s x {job.max_gpu_seconds} GPU-s)",
            )
        if now + runtime + cap.deadline_margin_s > job.commit_deadline:
            return Decision(
                False, f"commit deadline in {job.commit_deadline - now}s, too close for {runtime}s of runtime"
            )
        return Decision(True)

    def can_claim_now(
        self, job: ChainJob, now: int, busy_devices: int, free_stake: int, backlog_s: float = 0.0
    ) -> Decision:
        """Whether to claim this moment: slots left, claim window open, a device free (or a place in a
        device's queue whose wait, `backlog_s` of claimed work ahead, still meets the job's commit
        deadline), stake free."""
        cap = self.capacity
        if job.claimed >= (job.slots or job.replicas):
            return Decision(False, "every slot is taken")
        if now > (job.commit_deadline if job.filled else job.claim_deadline):
            return Decision(False, "the claim window has closed")
        if busy_devices + job.gpu_count > cap.devices * cap.jobs_per_device:
            return Decision(
                False, f"busy: {busy_devices} device-jobs held, {cap.devices} devices x {cap.jobs_per_device}"
            )
        queued = busy_devices + job.gpu_count > cap.devices
        if queued and now + backlog_s + self.runtime_s(job) + cap.deadline_margin_s > job.commit_deadline:
            return Decision(
                False,
                f"busy: {busy_devices}/{cap.devices} devices in use, and {backlog_s:.0f}s of claimed work"
                " ahead would pass the commit deadline",
            )
        if job.collateral > free_stake:
            return Decision(False, f"collateral {job.collateral} exceeds free stake {free_stake}")
        return Decision(True)

    @staticmethod
    def share(job: ChainJob) -> int:
        """What one replica earns when every slot agrees: the payment after the fee, split k ways."""
        return job.payment * (BPS - job.fee_bps) // BPS // max(job.replicas, 1)

    @staticmethod
    def runtime_s(job: ChainJob) -> int:
        """Wall-clock seconds the job may take: its GPU-seconds spread over its devices."""
        return -(-job.max_gpu_seconds // max(job.gpu_count, 1))

    def order(self, jobs: Sequence[ChainJob], requester_stakes: dict[str, int], now: int) -> list[ChainJob]:
        """Candidates by `0.4·stake + 0.3·urgency + 0.3·complexity`, highest first."""
        items = [
            (
                job,
                PriorityInputs(
                    requester_stake=requester_stakes.get(job.requester, 0),
                    seconds_left=max(job.claim_deadline - now, 0),
                    gpu_seconds=job.max_gpu_seconds,
                ),
            )
            for job in jobs
        ]
        ranked = rank(items)
        if len(ranked) > 1:
            log.info("candidates ranked", extra={"order": [[j.job_id, round(s, 4)] for j, s in ranked]})
        return [job for job, _ in ranked]
