"""The quote formula: each factor on its own, and the product rounded up to a whole wei."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.errors import PricingError
from coordinator.pricing import (
    JobShape,
    MarketSnapshot,
    PricingParams,
    capability_factor,
    demand_factor,
    quote,
    seasonal_adjustment,
)

PARAMS = PricingParams(rate_per_gpu_second=1_000, minimum_price=0)


def test_quiet_market_prices_the_work_alone() -> None:
    q = quote(JobShape(gpu_seconds=60, gpus=2, replicas=3), MarketSnapshot(0, 5), PARAMS)
    assert q.base_price == 60 * 2 * 3 * 1_000
    assert (q.demand_factor, q.capability_factor, q.seasonal_adjustment) == (0, 0, 1)
    assert q.price == q.base_price


def test_every_factor_multiplies_into_the_price() -> None:
    now = 1_000_000
    # 6 jobs in the last hour out of 12 in the day: 6/1h over 12/24h = 12, clamped to 1.5.
    times = [now - 60 * i for i in range(6)] + [now - 7_200 - 600 * i for i in range(6)]
    q = quote(JobShape(gpu_seconds=10, tier=2), MarketSnapshot(4, 2, times, now), PARAMS)
    assert q.demand_factor == Fraction(1)  # 0.5 * 4 / 2
    assert q.capability_factor == Fraction(3, 4)
    assert q.seasonal_adjustment == Fraction(3, 2)
    assert q.price == 10_000 * 2 * Fraction(7, 4) * Fraction(3, 2)


def test_minimum_price_applies_to_tiny_jobs() -> None:
    params = PricingParams(rate_per_gpu_second=1, minimum_price=500)
    assert quote(JobShape(gpu_seconds=1), MarketSnapshot(0, 1), params).price == 500


def test_price_is_rounded_up_never_down() -> None:
    params = PricingParams(rate_per_gpu_second=1, minimum_price=0, demand_weight=Fraction(1, 3))
    q = quote(JobShape(gpu_seconds=1), MarketSnapshot(1, 1), params)
    assert q.price == 2  # 1 * (1 + 1/3) = 1.33.. -> 2


def test_demand_without_free_providers_counts_as_one_and_is_capped() -> None:
    assert demand_factor(3, 0, PARAMS) == Fraction(3, 2)
    assert demand_factor(1_000, 1, PARAMS) == PARAMS.demand_cap


def test_seasonal_is_one_without_history_and_clamped_below() -> None:
    now = 100_000
    assert seasonal_adjustment([], now, PARAMS) == 1
    assert seasonal_adjustment([now - 90_000 * 2] * 20, now, PARAMS) == 1, "too old to count"
    assert seasonal_adjustment([now - 60] * 9, now, PARAMS) == 1, "nine jobs are no history yet"
    quiet_hour = [now - 7_200 - i for i in range(24)]  # a busy day, nothing in the last hour
    assert seasonal_adjustment(quiet_hour, now, PARAMS) == PARAMS.seasonal_floor


@pytest.mark.parametrize(
    ("shape", "market", "message"),
    [
        (JobShape(gpu_seconds=1, tier=9), MarketSnapshot(0, 0), "unknown GPU tier 9"),
        (JobShape(gpu_seconds=1, replicas=0), MarketSnapshot(0, 0), "replicas >= 1"),
        (JobShape(gpu_seconds=-1), MarketSnapshot(0, 0), "gpu_seconds >= 0"),
        (JobShape(gpu_seconds=1), MarketSnapshot(-1, 0), "counts must be >= 0"),
    ],
)
def test_bad_inputs_are_named(shape: JobShape, market: MarketSnapshot, message: str) -> None:
    with pytest.raises(PricingError, match=message):
        quote(shape, market, PARAMS)


@given(
    st.integers(0, 10**6),
    st.integers(0, 50),
    st.integers(0, 50),
    st.sampled_from(sorted([0, 1, 2, 3])),
)
def test_price_never_falls_when_demand_or_tier_rises(secs: int, open_jobs: int, free: int, tier: int) -> None:
    shape = JobShape(gpu_seconds=secs, tier=tier)
    price = quote(shape, MarketSnapshot(open_jobs, free), PARAMS).price
    assert quote(shape, MarketSnapshot(open_jobs + 1, free), PARAMS).price >= price
    if tier < 3:
        higher = JobShape(gpu_seconds=secs, tier=tier + 1)
        assert quote(higher, MarketSnapshot(open_jobs, free), PARAMS).price >= price
        # A higher tier is a strictly dearer capability, not merely no cheaper.
        assert capability_factor(tier + 1) > capability_factor(tier)
