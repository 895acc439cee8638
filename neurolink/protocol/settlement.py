"""A pure-Python mirror of JobMarket's settlement of exact jobs without a reserve, proven equal to it."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

BPS = 10_000
# JobMarket.SETTLEMENT_TIP_BPS: the share of the fee credited to whoever concludes the job.
SETTLEMENT_TIP_BPS = 5_000


class Outcome(Enum):
    """How a job ended (the contract's terminal statuses reachable through settlement)."""

    SETTLED = "settled"
    FAILED_UNDER_CLAIMED = "failed-under-claimed"
    FAILED_NO_QUORUM = "failed-no-quorum"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Settlement:
    """Who is credited what: `rewards[i]` and `slashed[i]` are per claimed slot, in slot order.

    `slashed` collateral is burned, never credited; `tip` goes to whoever concluded the job.
    """

    outcome: Outcome
    winning_digest: bytes | None
    rewards: tuple[int, ...]
    slashed: tuple[bool, ...]
    treasury: int
    refund: int
    tip: int = 0

    @property
    def winners(self) -> int:
        """Slots paid for the winning digest (0 unless settled)."""
        return self.slashed.count(False) if self.outcome is Outcome.SETTLED else 0


def settle(
    *,
    payment: int,
    collateral: int,
    quorum: int,
    fee_bps: int,
    reveals: Sequence[bytes | None],
    replicas: int | None = None,
) -> Settlement:
    """Settle a job whose claimed slots revealed `reveals` (None: never revealed, or never committed).

    Mirrors JobMarket: a job that never filled (fewer claimed slots than `replicas`) returns every
    token (EXPIRED when nobody claimed); otherwise the digest revealed by at least `quorum` slots wins:
    winners share payment - fee, the rest have their collateral burned. Without a winner every revealer
    is paid its 1/k share of payment - fee and silent slots are burned; the requester gets the rest
    (everything, with no fee, when nobody revealed). `collateral` only matters to the caller: burned
    collateral is nobody's income.

    Exact jobs without a reserve only (protocol v3, docs/VERIFICATION.md): there a quorum (a strict
    majority) of equal digests is the contract's matching group. Tolerant jobs group fingerprints within
    a tolerance around a centre, and a reserve turns a disagreement into a re-run; neither is mirrored.
    """
    del collateral  # burned, so it moves no credit; kept for the callers' symmetry with the contract
    n = len(reveals)
    k = n if replicas is None else replicas
    if n == 0:
        return Settlement(Outcome.EXPIRED, None, (), (), 0, payment)
    if n < k:
        return Settlement(Outcome.FAILED_UNDER_CLAIMED, None, (0,) * n, (False,) * n, 0, payment)
    fee = payment * fee_bps // BPS
    tip = fee * SETTLEMENT_TIP_BPS // BPS
    counts = Counter(d for d in reveals if d is not None)
    winner = next((d for d, c in counts.items() if c >= quorum), None)
    if winner is None:
        silent = tuple(d is None for d in reveals)
        revealers = n - sum(silent)
        if revealers == 0:
            return Settlement(Outcome.FAILED_NO_QUORUM, None, (0,) * n, silent, 0, payment)
        share = (payment - fee) // k
        rewards = tuple(0 if s else share for s in silent)
        refund = payment - fee - share * revealers
        return Settlement(Outcome.FAILED_NO_QUORUM, None, rewards, silent, fee - tip, refund, tip)
    slashed = tuple(d != winner for d in reveals)
    winners = n - sum(slashed)
    pool = payment - fee
    reward = pool // winners
    rewards = tuple(0 if s else reward for s in slashed)
    return Settlement(Outcome.SETTLED, winner, rewards, slashed, fee - tip + pool - reward * winners, 0, tip)
