"""The job priority score `0.4·stake + 0.3·urgency + 0.3·complexity`, each term normalised to [0, 1]."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

STAKE_WEIGHT = 0.4
URGENCY_WEIGHT = 0.3
COMPLEXITY_WEIGHT = 0.3


@dataclass(frozen=True)
class PriorityInputs:
    """What the score reads of a job: requester stake (token units), seconds left, declared GPU-seconds."""

    requester_stake: int
    seconds_left: float
    gpu_seconds: int


@dataclass(frozen=True)
class PriorityScale:
    """The values that map to 1.0 (stake, GPU-seconds) and the horizon beyond which urgency is 0."""

    stake: int
    horizon_s: float
    gpu_seconds: int

    @classmethod
    def of(cls, jobs: Sequence[PriorityInputs]) -> "PriorityScale":
        """Scale from a batch: the largest stake, deadline and GPU-seconds among `jobs` map to 1 (or 0)."""
        return cls(
            stake=max((j.requester_stake for j in jobs), default=0),
            horizon_s=max((j.seconds_left for j in jobs), default=0.0),
            gpu_seconds=max((j.gpu_seconds for j in jobs), default=0),
        )


def _ratio(value: float, top: float) -> float:
    # A zero scale means every job ties on this term; 0 keeps the score in [0, 1].
    return 0.0 if top <= 0 else min(max(value / top, 0.0), 1.0)


def priority_score(job: PriorityInputs, scale: PriorityScale) -> float:
    """Score in [0, 1]: more requester stake, a tighter deadline and more declared compute rank higher."""
    stake = _ratio(job.requester_stake, scale.stake)
    urgency = 1.0 - _ratio(job.seconds_left, scale.horizon_s) if scale.horizon_s > 0 else 0.0
    complexity = _ratio(job.gpu_seconds, scale.gpu_seconds)
    return STAKE_WEIGHT * stake + URGENCY_WEIGHT * urgency + COMPLEXITY_WEIGHT * complexity


def rank(
    items: Sequence[tuple[T, PriorityInputs]], scale: PriorityScale | None = None
) -> list[tuple[T, float]]:
    """Items with their scores, highest first (ties keep input order); the scale defaults to the batch's."""
    used = scale or PriorityScale.of([inputs for _, inputs in items])
    scored = [(item, priority_score(inputs, used)) for item, inputs in items]
    return sorted(scored, key=lambda pair: -pair[1])
