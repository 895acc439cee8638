"""The node's typed view of JobMarket and Staking: jobs, slots, phases, stakes, and the calls it sends."""

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from neurolink.protocol.contracts import Contracts
from neurolink.protocol.sortition import draw_outlook
from neurolink.protocol.views import (
    JobPhase,
    JobView,
    Verification,
    read_fingerprint_seed,
    read_job,
    read_phase,
)

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract


CLOSED = frozenset({JobPhase.SETTLED, JobPhase.FAILED, JobPhase.CANCELLED, JobPhase.EXPIRED})


@dataclass(frozen=True)
class ChainJob(JobView):
    """IJobMarket.Job as the node reads it: getJob's view with the job's id, and the requirements'
    fields at hand for the policy."""

    job_id: int = 0

    @classmethod
    def of(cls, job_id: int, view: JobView) -> "ChainJob":
        return cls(job_id=job_id, **{f.name: getattr(view, f.name) for f in fields(view)})

    @property
    def gpu_count(self) -> int:
        return self.requirements.gpu_count

    @property
    def vram_mb(self) -> int:
        return self.requirements.vram_mb

    @property
    def tier(self) -> int:
        return self.requirements.tier

    @property
    def max_gpu_seconds(self) -> int:
        return self.requirements.max_gpu_seconds

    @property
    def tolerant(self) -> bool:
        return self.verification is Verification.TOLERANT

    @property
    def compares_fingerprints(self) -> bool:
        """Tolerant jobs of more than one replica settle on fingerprints."""
        return self.tolerant and self.replicas > 1


@dataclass(frozen=True)
class SlotState:
    provider: str
    committed: bool
    revealed: bool
    commitment: bytes
    digest: bytes
    fingerprint: bytes
    index: int


class Market:
    """Reads of JobMarket and Staking for one provider address."""

    def __init__(self, contracts: Contracts, *, first_block: int = 0) -> None:
        self.contracts = contracts
        # No JobMarket event is older than this: the deployment's block (0 where unknown).
        self.first_block = first_block
        self._seeds: dict[int, bytes] = {}

    @property
    def w3(self) -> "Web3":
        return self.contracts.w3

    @property
    def job_market(self) -> "Contract":
        return self.contracts.market

    @property
    def staking(self) -> "Contract":
        return self.contracts.staking

    def token(self) -> "Contract":
        return self.contracts.token

    def job(self, job_id: int) -> ChainJob:
        return ChainJob.of(job_id, read_job(self.job_market, job_id))

    def phase(self, job_id: int) -> JobPhase:
        return read_phase(self.job_market, job_id)

    def slot_of(self, job_id: int, provider: str) -> SlotState | None:
        return next((s for s in self.slots(job_id) if s.provider.lower() == provider.lower()), None)

    def slots(self, job_id: int) -> list[SlotState]:
        """Every slot of the job (both rounds once escalated), free ones included."""
        return [
            SlotState(str(s[0]), bool(s[1]), bool(s[2]), bytes(s[3]), bytes(s[4]), bytes(s[5]), index)
            for index, s in enumerate(self.job_market.functions.getSlots(job_id).call())
        ]

    def fingerprint_seed(self, job: ChainJob) -> bytes:
        """The seed of the job's result fingerprints (neurolink.protocol.views.read_fingerprint_seed);
        a looked-up JobCreated is remembered."""
        if not job.escalated:
            return read_fingerprint_seed(self.job_market, job.job_id, job)
        if job.job_id not in self._seeds:
            self._seeds[job.job_id] = read_fingerprint_seed(
                self.job_market, job.job_id, job, self.first_block
            )
        return self._seeds[job.job_id]

    def device_class_of(self, account: str) -> bytes:
        return bytes(self.staking.functions.deviceClassOf(account).call())

    def drawn_slots(self, job_id: int, provider: str) -> tuple[list[int], int | None, bool]:
        """Free slots `provider` is drawn for now, computed off-chain, the seconds until the draw next
        widens, and whether any slot is free (see neurolink.protocol.sortition.draw_outlook)."""
        return draw_outlook(self.job_market, self.staking, job_id, provider)

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def chain_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def claimable(self, account: str) -> int:
        return int(self.job_market.functions.claimable(account).call())

    def stake_info(self, account: str) -> dict[str, int]:
        info = self.staking.functions.stakeInfoOf(account).call()
        return {
            "staked": int(info[0]),
            "locked": int(info[1]),
            "unstaking": int(info[2]),
            "unstake_available_at": int(info[3]),
            "free": int(self.staking.functions.freeStakeOf(account).call()),
        }

    def stake_of(self, account: str) -> int:
        return int(self.staking.functions.stakeOf(account).call())

    def is_registered(self, account: str) -> bool:
        return bool(self.staking.functions.isRegistered(account).call())
