"""Monte-Carlo payoffs of provider strategies under the real settlement rules (the contract's mirror)."""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from neurolink.protocol.settlement import settle

UNIT = 10**18  # payoffs are computed in token base units and reported in multiples of the payment


class Strategy(Enum):
    """What the focal provider does with its slot."""

    HONEST = "honest"  # computes, reveals the true digest
    LAZY = "lazy"  # skips the work, reveals a guess (a sha2-256 guess never matches)
    WRONG = "wrong"  # computes something else (a bug, a cheaper model), reveals that
    SILENT = "silent"  # claims, then never commits or reveals
    COLLUDE = "collude"  # a minority of q-1 slots skips the work and reveals one agreed fake digest


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid: the job's terms, the work's cost, how honest the other providers are."""

    replicas: int
    collateral_ratio: float  # C / P
    cost_ratio: float  # compute cost per replica / (P / k)
    honest_others: float  # probability each other provider is honest (else wrong or silent, 50/50)
    fee_bps: int = 100
    quorum: int = 0

    @property
    def effective_quorum(self) -> int:
        return self.quorum or self.replicas // 2 + 1


TRUE = b"T" * 32
FAKE = b"F" * 32


def _other(rng: random.Random, honest: float, slot: int) -> bytes | None:
    """What a non-focal provider reveals: the truth, a wrong result of its own, or nothing."""
    if rng.random() < honest:
        return TRUE
    if rng.random() < 0.5:
        return slot.to_bytes(32, "big")
    return None


def expected_payoff(scenario: Scenario, strategy: Strategy, jobs: int, seed: int = 0) -> float:
    """Mean payoff of the focal provider (slot 0) per job, in units of the payment P."""
    rng = random.Random(f"{seed}-{scenario}-{strategy.value}")
    k, q = scenario.replicas, scenario.effective_quorum
    payment = UNIT
    collateral = int(scenario.collateral_ratio * UNIT)
    cost = int(scenario.cost_ratio * UNIT / k)
    colluders = max(q - 1, 1) if strategy is Strategy.COLLUDE else 1
    total = 0
    for _ in range(jobs):
        reveals: list[bytes | None] = []
        for slot in range(k):
            if slot < colluders:
                reveals.append(_focal_reveal(strategy, rng))
            else:
                reveals.append(_other(rng, scenario.honest_others, slot))
        result = settle(
            payment=payment,
            collateral=collateral,
            quorum=q,
            fee_bps=scenario.fee_bps,
            reveals=reveals,
            replicas=k,
        )
        worked = strategy in (Strategy.HONEST, Strategy.WRONG)
        total += result.rewards[0] - (collateral if result.slashed[0] else 0) - (cost if worked else 0)
    return total / jobs / UNIT


def _focal_reveal(strategy: Strategy, rng: random.Random) -> bytes | None:
    if strategy is Strategy.HONEST:
        return TRUE
    if strategy is Strategy.SILENT:
        return None
    if strategy is Strategy.COLLUDE:
        return FAKE
    return rng.randbytes(32)  # lazy guess or a wrong result: a digest nobody else reveals


def nash_margin(scenario: Scenario) -> float:
    """Honest payoff minus the best deviation's when every other provider is honest (in units of P).

    Positive means truthful reporting is a strict Nash equilibrium (docs/PROTOCOL.md derives it):
    the contract only accepts q <= k - 1 for k >= 3, so with everyone else honest a deviator is
    outvoted and its collateral burned (no slash bonus goes to anyone, so the honest payoff does not
    count on one); with k = 1 nobody checks the result.
    """
    k = scenario.replicas
    share = (1 - scenario.fee_bps / 10_000) / k
    honest = share - scenario.cost_ratio / k
    best_deviation = share if k == 1 else -scenario.collateral_ratio
    return honest - best_deviation


def grid(
    replicas: Iterable[int] = (1, 3, 5),
    collateral_ratios: Iterable[float] = (0.0, 0.25),
    honesty: Iterable[float] = (1.0, 0.8),
    cost_ratio: float = 0.5,
) -> list[Scenario]:
    """The scenarios simulate_incentives.py reports."""
    return [
        Scenario(replicas=k, collateral_ratio=c, cost_ratio=cost_ratio, honest_others=h)
        for k in replicas
        for c in collateral_ratios
        for h in honesty
    ]
