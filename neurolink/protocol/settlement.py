"""A pure-Python mirror of JobMarket's settlement rules, proven equal to the contract by a test."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

BPS = 10_000


class Outcome(Enum):
    """How a job ended (the contract's terminal statuses reachable through settlement)."""

    SETTLED = "settled"
    FAILED_UNDER_CLAIMED = "failed-under-claimed"
    FAILED_NO_QUORUM = "failed-no-quorum"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Settlement:
    """Who is credited what: `rewards[i]` and `slashed[i]` are per claimed slot, in claim order."""

    outcome: Outcome
    winning_digest: bytes | None
    rewards: tuple[int, ...]
    slashed: tuple[bool, ...]
    treasury: int
    refund: int

    @property
    def winners(self) -> int:
        """Slots paid for the winning digest (0 unless settled)."""
        return self.slashed.count(False) if self.outcome is Outcome.SETTLED else 0


def settle(
    *, payment: int, collateral: int, quorum: int, fee_bps: int, reveals: Sequence[bytes | None]
) -> Settlement:
    """Settle a job whose claimed slots revealed `reveals` (None: never revealed, or never committed).

    Mirrors JobMarket._conclude: no claims expire the job; fewer claims than the quorum fail it without
    slashing; otherwise the digest revealed by at least `quorum` slots (unique, quorum being a strict
    majority) wins: winners share payment - fee + slashed collateral, the rest lose their collateral.
    Without a winner the payment is refunded and only non-revealers are slashed, to the treasury.
    """
    n = len(reveals)
    if n == 0:
        return Settlement(Outcome.EXPIRED, None, (), (), 0, payment)
    if n < quorum:
        return Settlement(Outcome.FAILED_UNDER_CLAIMED, None, (0,) * n, (False,) * n, 0, payment)
    counts = Counter(d for d in reveals if d is not None)
    winner = next((d for d, c in counts.items() if c >= quorum), None)
    if winner is None:
        slashed = tuple(d is None for d in reveals)
        return Settlement(
            Outcome.FAILED_NO_QUORUM, None, (0,) * n, slashed, collateral * sum(slashed), payment
        )
    slashed = tuple(d != winner for d in reveals)
    winners = n - sum(slashed)
    fee = payment * fee_bps // BPS
    pool = payment - fee + collateral * sum(slashed)
    reward = pool // winners
    rewards = tuple(0 if s else reward for s in slashed)
    return Settlement(Outcome.SETTLED, winner, rewards, slashed, fee + pool - reward * winners, 0)
