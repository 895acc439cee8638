"""Typed reads of JobMarket state: getJob as a frozen dataclass with the contract's enums."""

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from neurolink.protocol.params import Requirements

if TYPE_CHECKING:
    from web3.contract import Contract


class JobStatus(IntEnum):
    """IJobMarket.Status."""

    NONE = 0
    OPEN = 1
    SETTLED = 2
    FAILED = 3
    CANCELLED = 4
    EXPIRED = 5


class Verification(IntEnum):
    """IJobMarket.Verification: how reveals are compared."""

    EXACT = 0
    TOLERANT = 1


class JobPhase(IntEnum):
    """IJobMarket.Phase: the stored status combined with the clock and the counters."""

    NONE = 0
    CLAIMING = 1
    COMMITTING = 2
    REVEALING = 3
    SETTLEABLE = 4
    SETTLED = 5
    FAILED = 6
    CANCELLED = 7
    EXPIRED = 8


@dataclass(frozen=True)
class JobView:
    """IJobMarket.Job as returned by getJob."""

    requester: str
    spec_digest: bytes
    payment: int
    collateral: int
    replicas: int
    quorum: int
    status: JobStatus
    claimed: int
    committed: int
    revealed: int
    fee_bps: int
    requirements: Requirements
    claim_deadline: int
    commit_deadline: int
    reveal_deadline: int
    filled: bool = False
    created_block: int = 0
    fee_recipient: str = ""
    verification: Verification = Verification.EXACT
    tolerance: int = 0
    device_class: bytes = bytes(32)
    reserve: int = 0
    escalated: bool = False
    # The current round's slots: [0, k) at first, [k, 3k + 1) once escalated.
    first_slot: int = 0
    slots: int = 0

    @property
    def round_slots(self) -> range:
        """Slot indices of the current round."""
        return range(self.first_slot, self.first_slot + self.slots)


@dataclass(frozen=True)
class SlotView:
    """IJobMarket.SlotView: one of the job's k slots (provider zero while free)."""

    index: int
    provider: str
    committed: bool
    revealed: bool
    commitment: bytes
    digest: bytes
    fingerprint: bytes = bytes(32)

    @property
    def free(self) -> bool:
        return int(self.provider, 16) == 0


def read_slots(market: "Contract", job_id: int) -> list[SlotView]:
    """The job's k slots in slot order, free ones included."""
    return [
        SlotView(i, str(s[0]), bool(s[1]), bool(s[2]), bytes(s[3]), bytes(s[4]), bytes(s[5]))
        for i, s in enumerate(market.functions.getSlots(job_id).call())
    ]


def read_job(market: "Contract", job_id: int) -> JobView:
    """The job `job_id` (all zero with status NONE when it does not exist)."""
    raw = market.functions.getJob(job_id).call()
    return JobView(
        requester=raw[0],
        spec_digest=bytes(raw[1]),
        payment=raw[2],
        collateral=raw[3],
        replicas=raw[4],
        quorum=raw[5],
        status=JobStatus(raw[6]),
        claimed=raw[7],
        committed=raw[8],
        revealed=raw[9],
        fee_bps=raw[10],
        requirements=Requirements(*raw[11]),
        claim_deadline=raw[12],
        commit_deadline=raw[13],
        reveal_deadline=raw[14],
        filled=bool(raw[15]),
        created_block=int(raw[16]),
        fee_recipient=str(raw[17]),
        verification=Verification(raw[18]),
        tolerance=int(raw[19]),
        device_class=bytes(raw[20]),
        reserve=int(raw[21]),
        escalated=bool(raw[22]),
        first_slot=int(raw[23]),
        slots=int(raw[24]),
    )


def read_phase(market: "Contract", job_id: int) -> JobPhase:
    """Where the job stands now."""
    return JobPhase(market.functions.phaseOf(job_id).call())


def read_fingerprint_seed(market: "Contract", job_id: int, job: JobView, first_block: int = 0) -> bytes:
    """The seed of the job's result fingerprints: the hash of the block that created it (nobody knew it
    when the job was created, so no requester can craft inputs against the projection). Until a re-run
    is drawn that is getJob's block; after, the JobCreated log is looked up, walking back from the
    re-run's block (the only bound known) in ranges public RPCs accept, newest first (a re-run follows
    its job closely), down to `first_block` (the deployment's; LookupError below it)."""
    from eth_utils.abi import event_abi_to_log_topic

    from neurolink.chain.watcher import MAX_RANGE

    w3 = market.w3
    if not job.escalated:
        return bytes(w3.eth.get_block(job.created_block)["hash"])
    abi = next(e for e in market.abi if e.get("type") == "event" and e.get("name") == "JobCreated")
    topics = ["0x" + event_abi_to_log_topic(abi).hex(), "0x" + job_id.to_bytes(32, "big").hex()]  # type: ignore[arg-type]
    end = job.created_block
    while end >= first_block:
        start = max(first_block, end - MAX_RANGE + 1)
        logs = w3.eth.get_logs(
            {"address": market.address, "fromBlock": start, "toBlock": end, "topics": topics}
        )
        if logs:
            return bytes(logs[0]["blockHash"])
        end = start - 1
    raise LookupError(f"job {job_id} has no JobCreated event since block {first_block}")
