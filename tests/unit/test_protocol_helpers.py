"""neurolink.protocol without a chain: commitments, JobParams, the settlement mirror, incentives."""

import hashlib

import pytest

from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.errors import InvalidDigestError, InvalidJobParamsError
from neurolink.protocol.incentives import Scenario, Strategy, expected_payoff, nash_margin
from neurolink.protocol.params import Capabilities, JobParams, Requirements
from neurolink.protocol.settlement import Outcome, settle

D = hashlib.sha256(b"result").digest()
PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_commitment_is_bound_to_every_input() -> None:
    salt = new_salt()
    scope = {"chain_id": 31337, "market": MARKET}
    base = commitment(7, PROVIDER, D, salt, **scope)
    assert len(base) == 32
    assert commitment(7, PROVIDER.lower(), "0x" + D.hex(), salt, **scope) == base
    assert commitment(8, PROVIDER, D, salt, **scope) != base
    assert commitment(7, "0x" + "11" * 20, D, salt, **scope) != base
    assert commitment(7, PROVIDER, D, new_salt(), **scope) != base
    # An exact job's fingerprint is zero; a tolerant reveal cannot swap in another fingerprint.
    assert commitment(7, PROVIDER, D, salt, fingerprint=bytes(32), **scope) == base
    assert commitment(7, PROVIDER, D, salt, fingerprint=b"\x01" + bytes(31), **scope) != base
    # Copying a commitment to another chain or market gains nothing: it opens nowhere else.
    assert commitment(7, PROVIDER, D, salt, chain_id=1, market=MARKET) != base
    assert commitment(7, PROVIDER, D, salt, chain_id=31337, market="0x" + "22" * 20) != base
    with pytest.raises(InvalidDigestError, match="32 bytes"):
        commitment(7, PROVIDER, D[:31], salt, **scope)
    with pytest.raises(InvalidDigestError, match="not hex"):
        commitment(7, PROVIDER, "0xzz", salt, **scope)
    with pytest.raises(InvalidDigestError, match="fingerprint must be 32 bytes"):
        commitment(7, PROVIDER, D, salt, fingerprint=bytes(31), **scope)


def test_job_params_validate_like_the_contract() -> None:
    ok = JobParams(spec_digest=D, payment=10, replicas=4, quorum=3)
    assert ok.effective_quorum == 3
    assert JobParams(spec_digest=D, payment=1, replicas=4).effective_quorum == 3
    assert ok.as_tuple()[2:4] == (4, 3)
    with pytest.raises(InvalidJobParamsError, match="strict majority"):
        JobParams(spec_digest=D, payment=10, replicas=4, quorum=2)
    # q = k would let one puppet force NoQuorum; k = 2 cannot tell the liar from the honest one.
    with pytest.raises(InvalidJobParamsError, match="strict majority"):
        JobParams(spec_digest=D, payment=10, replicas=3, quorum=3)
    with pytest.raises(InvalidJobParamsError, match="replicas"):
        JobParams(spec_digest=D, payment=10, replicas=2)
    with pytest.raises(InvalidJobParamsError, match="replicas"):
        JobParams(spec_digest=D, payment=10, replicas=17)
    with pytest.raises(InvalidJobParamsError, match="payment"):
        JobParams(spec_digest=D, payment=0)
    with pytest.raises(InvalidJobParamsError, match="spec_digest"):
        JobParams(spec_digest=bytes(32), payment=1)
    with pytest.raises(InvalidJobParamsError, match="claim_window must fit uint32"):
        JobParams(spec_digest=D, payment=1, claim_window=-1)
    with pytest.raises(InvalidJobParamsError, match="tier must fit uint8"):
        Requirements(tier=256)
    with pytest.raises(InvalidJobParamsError, match="gpu_count"):
        Capabilities(gpu_count=0, vram_mb=1, tier=0, price_per_gpu_second=0)


def test_default_collateral_is_the_replica_share_and_never_zero() -> None:
    assert JobParams(spec_digest=D, payment=90, replicas=3).collateral == 30
    assert JobParams(spec_digest=D, payment=2, replicas=5).collateral == 1
    with pytest.raises(InvalidJobParamsError, match="collateral"):
        JobParams(spec_digest=D, payment=10, replicas=3, collateral=0)


def test_settle_pays_majority_and_burns_the_rest() -> None:
    w = b"w" * 32
    result = settle(payment=1_000, collateral=100, quorum=3, fee_bps=100, reveals=[D, w, D, D, None])
    assert result.outcome is Outcome.SETTLED and result.winning_digest == D
    pool = 1_000 - 10  # no slash bonus
    assert result.rewards == (pool // 3, 0, pool // 3, pool // 3, 0)
    assert result.slashed == (False, True, False, False, True)
    assert result.tip == 5
    assert result.treasury == 10 - 5 + pool % 3
    assert result.winners == 3


def test_settle_without_quorum_pays_revealers_and_burns_only_silent() -> None:
    result = settle(payment=1_000, collateral=100, quorum=3, fee_bps=100, reveals=[D, D, b"w" * 32, None])
    assert result.outcome is Outcome.FAILED_NO_QUORUM
    share = (1_000 - 10) // 4
    assert result.rewards == (share, share, share, 0), "no free result: every revealer is paid"
    assert result.refund == 1_000 - 10 - 3 * share and result.treasury == 5 and result.tip == 5
    assert result.slashed == (False, False, False, True)
    assert result.winners == 0
    nobody = settle(payment=1_000, collateral=100, quorum=2, fee_bps=100, reveals=[None, None, None])
    assert nobody.refund == 1_000 and nobody.treasury == 0 and nobody.slashed == (True, True, True)


def test_settle_under_claimed_and_expired() -> None:
    under = settle(payment=5, collateral=1, quorum=2, fee_bps=0, reveals=[D, None], replicas=3)
    assert under.outcome is Outcome.FAILED_UNDER_CLAIMED and under.slashed == (False, False)
    assert under.refund == 5
    assert settle(payment=5, collateral=1, quorum=1, fee_bps=0, reveals=[]).outcome is Outcome.EXPIRED


def test_truthful_reporting_is_strict_nash_exactly_where_derived() -> None:
    assert nash_margin(Scenario(replicas=3, collateral_ratio=0.25, cost_ratio=0.5, honest_others=1)) > 0
    assert nash_margin(Scenario(replicas=1, collateral_ratio=0.25, cost_ratio=0.5, honest_others=1)) < 0
    assert nash_margin(Scenario(replicas=5, collateral_ratio=0.25, cost_ratio=0.5, honest_others=1)) > 0
    # Without collateral, work that costs more than the share makes lazy better than honest.
    assert nash_margin(Scenario(replicas=3, collateral_ratio=0.0, cost_ratio=1.2, honest_others=1)) < 0


def test_simulation_agrees_with_the_derivation_when_others_are_honest() -> None:
    s = Scenario(replicas=3, collateral_ratio=0.25, cost_ratio=0.5, honest_others=1.0)
    honest = expected_payoff(s, Strategy.HONEST, jobs=200)
    lazy = expected_payoff(s, Strategy.LAZY, jobs=200)
    assert honest == pytest.approx(0.99 / 3 - 0.5 / 3, abs=1e-9)
    assert lazy == pytest.approx(-0.25, abs=1e-9)
    assert honest - lazy == pytest.approx(nash_margin(s), abs=1e-9)


@pytest.mark.parametrize(
    ("window", "elapsed", "widens_in"),
    [(100, 0, 25), (100, 24, 1), (100, 25, 25), (100, 30, 20), (100, 99, 1), (10, 2, 1), (10, 3, 2)],
)
def test_a_draw_says_when_it_next_widens(window: int, elapsed: int, widens_in: int) -> None:
    """The next of the four doubling steps (elapsed * 4 // window), exactly where the contract's starts."""
    from dataclasses import replace

    from neurolink.protocol.sortition import WIDEN_STEPS, Draw

    draw = Draw(bytes(32), job_id=1, weight=1, total=10**6, width=1, elapsed=elapsed, claim_window=window)
    assert draw.widens_in() == widens_in
    assert replace(draw, elapsed=elapsed + widens_in).doublings == draw.doublings + 1
    assert replace(draw, elapsed=elapsed + widens_in - 1).doublings == draw.doublings
    widest = replace(draw, elapsed=window)
    assert widest.doublings == WIDEN_STEPS and widest.widens_in() is None
