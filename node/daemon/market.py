"""The node's typed view of JobMarket and Staking: jobs, slots, phases, stakes, and the calls it sends."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.protocol.contracts import Contracts
from neurolink.protocol.sortition import draw_outlook
from neurolink.protocol.views import JobPhase, Verification, read_job, read_phase

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract


CLOSED = frozenset({JobPhase.SETTLED, JobPhase.FAILED, JobPhase.CANCELLED, JobPhase.EXPIRED})


@dataclass(frozen=True)
class ChainJob:
    """IJobMarket.Job with its id and the requirements flattened, as the policy reads it."""

    job_id: int
    requester: str
    claim_deadline: int
    commit_deadline: int
    reveal_deadline: int
    payment: int
    collateral: int
    replicas: int
    quorum: int
    claimed: int
    committed: int
    revealed: int
    gpu_count: int
    vram_mb: int
    tier: int
    max_gpu_seconds: int
    fee_bps: int
    spec_digest: bytes
    # Every slot was claimed once: a slot given back afterwards is drawn again until the commit deadline.
    filled: bool = False
    verification: Verification = Verification.EXACT
    tolerance: int = 0
    # Exact jobs: the class every slot must have (zero until the first claim fixes it).
    device_class: bytes = bytes(32)
    reserve: int = 0
    escalated: bool = False
    first_slot: int = 0
    slots: int = 0

    # The current round's seed block (the creation block until a re-run is drawn).
    created_block: int = 0

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
        view = read_job(self.job_market, job_id)
        req = view.requirements
        return ChainJob(
            job_id=job_id,
            requester=str(view.requester),
            claim_deadline=view.claim_deadline,
            commit_deadline=view.commit_deadline,
            reveal_deadline=view.reveal_deadline,
            payment=view.payment,
            collateral=view.collateral,
            replicas=view.replicas,
            quorum=view.quorum,
            claimed=view.claimed,
            committed=view.committed,
            revealed=view.revealed,
            gpu_count=req.gpu_count,
            vram_mb=req.vram_mb,
            tier=req.tier,
            max_gpu_seconds=req.max_gpu_seconds,
            fee_bps=view.fee_bps,
            spec_digest=view.spec_digest,
            filled=view.filled,
            verification=view.verification,
            tolerance=view.tolerance,
            device_class=view.device_class,
            reserve=view.reserve,
            escalated=view.escalated,
            first_slot=view.first_slot,
            slots=view.slots,
            created_block=view.created_block,
        )

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
        """The seed of the job's result fingerprints: the hash of the block that created it (nobody knew
        it when the job was created, so no requester can craft inputs against the projection). Until a
        re-run is drawn that is getJob's block; after, the JobCreated log is looked up."""
        from eth_utils.abi import event_abi_to_log_topic

        from neurolink.chain.watcher import MAX_RANGE

        if not job.escalated:
            return bytes(self.w3.eth.get_block(job.created_block)["hash"])
        if job.job_id in self._seeds:
            return self._seeds[job.job_id]
        abi = next(
            e for e in self.job_market.abi if e.get("type") == "event" and e.get("name") == "JobCreated"
        )
        topic = "0x" + event_abi_to_log_topic(abi).hex()  # type: ignore[arg-type]
        job_topic = "0x" + job.job_id.to_bytes(32, "big").hex()
        # The creation block is before the re-run's seed block, the only bound known here: walk back
        # from it in ranges public RPCs accept, newest first (a re-run follows its job closely).
        end = job.created_block
        while end >= self.first_block:
            start = max(self.first_block, end - MAX_RANGE + 1)
            logs = self.w3.eth.get_logs(
                {
                    "address": self.job_market.address,
                    "fromBlock": start,
                    "toBlock": end,
                    "topics": [topic, job_topic],
                }
            )
            if logs:
                seed = self._seeds[job.job_id] = bytes(logs[0]["blockHash"])
                return seed
            end = start - 1
        raise LookupError(f"job {job.job_id} has no JobCreated event since block {self.first_block}")

    def device_class_of(self, account: str) -> bytes:
        return bytes(self.staking.functions.deviceClassOf(account).call())

    def drawn_slots(self, job_id: int, provider: str) -> tuple[list[int], int | None]:
        """Free slots `provider` is drawn for now, computed off-chain, and the seconds until the draw
        next widens (see neurolink.protocol.sortition.draw_outlook)."""
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
