"""The shared priority score: weights, normalisation, bounds and ordering."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurolink.protocol.priority import PriorityInputs, PriorityScale, priority_score, rank

SCALE = PriorityScale(stake=1000, horizon_s=3600, gpu_seconds=100)


def test_each_term_carries_its_weight() -> None:
    assert priority_score(PriorityInputs(1000, 3600, 0), SCALE) == pytest.approx(0.4)
    assert priority_score(PriorityInputs(0, 0, 0), SCALE) == pytest.approx(0.3)
    assert priority_score(PriorityInputs(0, 3600, 100), SCALE) == pytest.approx(0.3)
    assert priority_score(PriorityInputs(1000, 0, 100), SCALE) == pytest.approx(1.0)
    assert priority_score(PriorityInputs(500, 1800, 50), SCALE) == pytest.approx(0.5)


@given(
    stake=st.integers(0, 10**30),
    left=st.floats(-1e6, 1e9, allow_nan=False),
    gpu=st.integers(0, 10**9),
    scale_stake=st.integers(0, 10**30),
    horizon=st.floats(0, 1e9, allow_nan=False),
    scale_gpu=st.integers(0, 10**9),
)
def test_score_stays_in_unit_interval(  # noqa: PLR0917 - one argument per hypothesis strategy
    stake: int, left: float, gpu: int, scale_stake: int, horizon: float, scale_gpu: int
) -> None:
    score = priority_score(PriorityInputs(stake, left, gpu), PriorityScale(scale_stake, horizon, scale_gpu))
    assert 0.0 <= score <= 1.0


def test_rank_orders_by_score_with_a_batch_scale() -> None:
    jobs = [
        ("relaxed", PriorityInputs(requester_stake=0, seconds_left=3000, gpu_seconds=10)),
        ("staked", PriorityInputs(requester_stake=900, seconds_left=3000, gpu_seconds=10)),
        ("urgent-big", PriorityInputs(requester_stake=0, seconds_left=60, gpu_seconds=100)),
    ]
    ranked = rank(jobs)
    assert [name for name, _ in ranked] == ["urgent-big", "staked", "relaxed"]
    assert ranked[0][1] > ranked[1][1] > ranked[2][1]
