"""Stake-weighted sortition computed off-chain, exactly as JobMarket.isEligible decides it on-chain.

A provider may claim slot i of job j iff, with `seed` the hash of the job's creation block (re-read
every 256 blocks), `weight` its free stake (0 unless staked before the creation block), `total` all
providers' stake and `d` = 4 * elapsed / claimWindow (at most 4):

    keccak256(abi.encode(seed, j, i, provider)) >> 128  <  2**128 * weight * width * 2**d / total
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.protocol.errors import NotDrawnError
from neurolink.protocol.views import read_job, read_slots

if TYPE_CHECKING:
    from web3.contract import Contract

    from neurolink.chain.tx import TxSender
    from neurolink.protocol.views import JobView

WIDEN_STEPS = 4
BLOCKHASH_REACH = 256


@dataclass(frozen=True)
class Draw:
    """Everything the draw for one provider and job depends on."""

    seed: bytes
    job_id: int
    weight: int
    total: int
    width: int
    elapsed: int
    claim_window: int

    @property
    def doublings(self) -> int:
        if self.elapsed >= self.claim_window:
            return WIDEN_STEPS
        return self.elapsed * WIDEN_STEPS // self.claim_window

    def widens_in(self) -> int | None:
        """Seconds until the draw next widens (a provider not drawn now may be then); None at its widest,
        where only a new seed epoch or a slot given back changes what a provider is drawn for."""
        if self.doublings >= WIDEN_STEPS:
            return None
        step = self.doublings + 1
        return max(-(-step * self.claim_window // WIDEN_STEPS) - self.elapsed, 1)

    def eligible(self, slot: int, provider: str) -> bool:
        """Whether `provider` is drawn for `slot`."""
        from eth_abi.abi import encode
        from eth_utils.address import to_checksum_address
        from eth_utils.crypto import keccak

        if self.weight == 0:
            return False
        scaled = self.weight * self.width << self.doublings
        if scaled >= self.total:
            return True
        value = keccak(
            encode(
                ["bytes32", "uint256", "uint256", "address"],
                [self.seed, self.job_id, slot, to_checksum_address(provider)],
            )
        )
        return (int.from_bytes(value, "big") >> 128) * self.total < scaled << 128


def seed_block(created_block: int, next_block: int) -> int:
    """The block whose hash seeds a claim mined in `next_block` (see JobMarket._seed)."""
    return created_block + (next_block - 1 - created_block) // BLOCKHASH_REACH * BLOCKHASH_REACH


def read_draw(
    market: "Contract", staking: "Contract", job_id: int, provider: str, job: "JobView | None" = None
) -> Draw | None:
    """The draw a claim sent now would face: mined in the next block, at the latest block's time or
    later (eligibility only widens with time; only a 256-block seed boundary can change it, and then
    the claim reverts with JobMarketNotEligible). None while the seed does not exist yet."""
    w3 = market.w3
    job = job or read_job(market, job_id)
    latest = w3.eth.get_block("latest")
    next_block = int(latest["number"]) + 1
    if job.created_block == 0 or next_block <= job.created_block:
        return None
    created = w3.eth.get_block(job.created_block)
    seeding = seed_block(job.created_block, next_block)
    seed = created["hash"] if seeding == job.created_block else w3.eth.get_block(seeding)["hash"]
    weight, total = staking.functions.sortitionWeight(provider, job.created_block).call()
    created_at = int(created["timestamp"])  # the job's createdAt is its creation block's time
    return Draw(
        seed=bytes(seed),
        job_id=job_id,
        weight=int(weight),
        total=int(total),
        width=int(market.functions.sortitionWidth().call()),
        elapsed=max(int(latest["timestamp"]) - created_at, 0),
        claim_window=job.claim_deadline - created_at,
    )


def drawn_free_slots(market: "Contract", staking: "Contract", job_id: int, provider: str) -> list[int]:
    """Free slots of the job `provider` is drawn for now, computed off-chain."""
    return draw_outlook(market, staking, job_id, provider)[0]


def draw_outlook(
    market: "Contract", staking: "Contract", job_id: int, provider: str
) -> tuple[list[int], int | None, bool]:
    """The free slots `provider` is drawn for now, the seconds until the draw next widens (see
    Draw.widens_in; 1 while the job's seed block is not mined yet), and whether any slot of the
    current round is free at all (none: the job filled, whatever the draw)."""
    job = read_job(market, job_id)
    current = job.round_slots
    free = [s.index for s in read_slots(market, job_id) if s.free and s.index in current]
    draw = read_draw(market, staking, job_id, provider, job)
    if draw is None:
        return [], 1, bool(free)
    return [slot for slot in free if draw.eligible(slot, provider)], draw.widens_in(), bool(free)


def claim_drawn_slot(sender: "TxSender", market: "Contract", staking: "Contract", job_id: int) -> int:
    """Claim the first free slot `sender` is drawn for; returns the slot (NotDrawnError if none)."""
    slots = drawn_free_slots(market, staking, job_id, sender.address)
    if not slots:
        raise NotDrawnError(f"{sender.address} is drawn for no free slot of job {job_id} now")
    sender.transact(market.functions.claim(job_id, slots[0]))
    return slots[0]
