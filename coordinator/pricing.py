"""The quote formula: Price = BasePrice · (1 + Demand) · (1 + Capability) · Seasonal, exact in wei."""

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from coordinator.errors import PricingError

# Capability factor per GPU tier asked for: scarcer hardware costs more. Tier 0 is "any device"
# (CPU slots included), so it adds nothing.
TIER_FACTORS: dict[int, Fraction] = {
    0: Fraction(0),
    1: Fraction(1, 4),
    2: Fraction(3, 4),
    3: Fraction(3, 2),
}


class PricingParams(BaseModel):
    """Knobs of the quote; the defaults suit the devnet token (18 decimals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Wei per GPU-second per replica: the price of one unit of work on the cheapest tier.
    rate_per_gpu_second: int = Field(default=10**15, ge=0)
    # No job is quoted below this, so tiny jobs still pay for the gas of k providers.
    minimum_price: int = Field(default=10**16, ge=0)
    # DemandFactor = demand_weight · open / max(free, 1), capped so a burst cannot price out everyone.
    demand_weight: Fraction = Fraction(1, 2)
    demand_cap: Fraction = Fraction(2)
    # Seasonal adjustment is the recent job rate over the longer baseline rate, clamped to this band.
    seasonal_floor: Fraction = Fraction(4, 5)
    seasonal_ceiling: Fraction = Fraction(3, 2)
    recent_window_s: int = Field(default=3_600, gt=0)
    baseline_window_s: int = Field(default=86_400, gt=0)
    # Fewer jobs than this in the baseline window is no history to speak of: the adjustment stays 1.
    seasonal_min_jobs: int = Field(default=10, ge=1)


@dataclass(frozen=True)
class JobShape:
    """What a quote needs to know about a job: its work, its replicas and the hardware asked for."""

    gpu_seconds: int
    gpus: int = 1
    replicas: int = 1
    tier: int = 0


@dataclass(frozen=True)
class MarketSnapshot:
    """The chain's state a quote depends on: jobs still waiting and providers able to take them."""

    open_jobs: int
    free_providers: int
    # Creation timestamps of recent jobs (seconds), for the seasonal term; empty means no history.
    recent_job_times: Sequence[int] = ()
    now: int = 0


@dataclass(frozen=True)
class Quote:
    """A price with every factor that produced it, so a requester can see why it costs what it does."""

    base_price: int
    demand_factor: Fraction
    capability_factor: Fraction
    seasonal_adjustment: Fraction
    price: int

    def as_dict(self) -> dict[str, str | float | int]:
        return {
            "base_price": str(self.base_price),
            "demand_factor": float(self.demand_factor),
            "capability_factor": float(self.capability_factor),
            "seasonal_adjustment": float(self.seasonal_adjustment),
            "price": str(self.price),
        }


def base_price(shape: JobShape, params: PricingParams) -> int:
    """Work times rate, for every replica; never below the minimum."""
    if shape.gpu_seconds < 0 or shape.gpus < 1 or shape.replicas < 1:
        raise PricingError(f"job shape must have gpu_seconds >= 0, gpus >= 1 and replicas >= 1, got {shape}")
    work = shape.gpu_seconds * shape.gpus * shape.replicas * params.rate_per_gpu_second
    return max(work, params.minimum_price)


def demand_factor(open_jobs: int, free_providers: int, params: PricingParams) -> Fraction:
    """Open jobs per free provider, weighted and capped; 0 when nothing waits."""
    if open_jobs < 0 or free_providers < 0:
        raise PricingError(f"counts must be >= 0, got open={open_jobs} free={free_providers}")
    return min(params.demand_cap, params.demand_weight * Fraction(open_jobs, max(free_providers, 1)))


def capability_factor(tier: int) -> Fraction:
    try:
        return TIER_FACTORS[tier]
    except KeyError:
        raise PricingError(f"unknown GPU tier {tier}; known tiers: {sorted(TIER_FACTORS)}") from None


def seasonal_adjustment(times: Sequence[int], now: int, params: PricingParams) -> Fraction:
    """Recent job rate over the baseline rate, clamped; exactly 1 without (enough) history."""
    baseline = [t for t in times if now - params.baseline_window_s <= t <= now]
    if len(baseline) < params.seasonal_min_jobs:
        return Fraction(1)
    recent = sum(1 for t in baseline if t > now - params.recent_window_s)
    ratio = Fraction(recent * params.baseline_window_s, len(baseline) * params.recent_window_s)
    return min(params.seasonal_ceiling, max(params.seasonal_floor, ratio))


def quote(shape: JobShape, market: MarketSnapshot, params: PricingParams | None = None) -> Quote:
    """The price of `shape` in `market`, rounded up to a whole wei."""
    params = params or PricingParams()
    base = base_price(shape, params)
    demand = demand_factor(market.open_jobs, market.free_providers, params)
    capability = capability_factor(shape.tier)
    seasonal = seasonal_adjustment(market.recent_job_times, market.now, params)
    exact = base * (1 + demand) * (1 + capability) * seasonal
    price = -(-exact.numerator // exact.denominator)
    return Quote(base, demand, capability, seasonal, price)
