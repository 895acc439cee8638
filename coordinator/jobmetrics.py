"""A settled job's metrics for its requester: the figures its result carries and the chain's timeline."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlotTimes:
    """When one provider's claim and commitment landed (block timestamps)."""

    provider: str
    claimed_at: int
    committed_at: int | None


@dataclass(frozen=True)
class Timeline:
    """The job's life on the chain, in block timestamps."""

    created_at: int
    settled_at: int
    slots: tuple[SlotTimes, ...]


def assemble(
    job_id: int, result: Mapping[str, Any], verified: Mapping[str, Any], timeline: Timeline | None
) -> dict[str, Any]:
    """metrics.json: `verified` figures (inside the digest the providers agreed on, so as trustworthy as
    the result), the timeline, and per provider a throughput floor where the result counts its work.

    A provider computed between its claim and its commitment, so work / (commit - claim) bounds its rate
    from below; block timestamps have one-second resolution, so a gap under a second counts as one."""
    metrics: dict[str, Any] = {"job_id": job_id, "result": dict(result), "verified": dict(verified)}
    if timeline is None:
        return metrics
    flop = _flop(verified)
    providers = []
    for slot in timeline.slots:
        entry: dict[str, Any] = {"address": slot.provider, "claimed_at": slot.claimed_at}
        if slot.committed_at is not None:
            span = slot.committed_at - slot.claimed_at
            entry |= {"committed_at": slot.committed_at, "claim_to_commit_s": span}
            if flop is not None:
                entry["tflops_at_least"] = round(flop / max(span, 1) / 1e12, 6)
        providers.append(entry)
    return metrics | {
        "created_at": timeline.created_at,
        "settled_at": timeline.settled_at,
        "submit_to_settled_s": timeline.settled_at - timeline.created_at,
        "providers": providers,
    }


def _flop(verified: Mapping[str, Any]) -> int | None:
    """Floating-point operations a benchmark result says every rank did, summed over its ranks."""
    per_rank, ranks = verified.get("flop_per_rank"), verified.get("sha256")
    if isinstance(per_rank, int) and isinstance(ranks, list):
        return per_rank * len(ranks)
    return None
