"""JobParams of issue 12 without a chain: verification, tolerance, device class and the re-run reserve,
validated like JobMarket validates them, and built from a spec as `job submit` builds them."""

import hashlib

import pytest

from coordinator.client import job_params
from neurolink.protocol.errors import InvalidJobParamsError
from neurolink.protocol.params import (
    Capabilities,
    JobParams,
    VerificationMode,
    escalation_reserve,
    minimum_reserve,
)
from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements, Verification

D = hashlib.sha256(b"spec").digest()
CLASS = bytes.fromhex("ab" * 32)
WINDOWS = (60, 120, 60)


def test_the_reserve_pays_each_of_2k_plus_1_rerun_winners_a_replica_share() -> None:
    assert minimum_reserve(300, 3) == 700  # 7 winners x 100
    assert minimum_reserve(10, 3) == 23  # 70 / 3, rounded down as the contract divides
    assert minimum_reserve(1_000, 5) == 2_200
    assert escalation_reserve(300, 3, escalate=True) == 700
    assert escalation_reserve(300, 3, escalate=False) == 0
    # No re-run for one replica, nor above five (3k + 1 slots would not fit the contract's 16).
    assert escalation_reserve(300, 1, escalate=True) == 0
    assert escalation_reserve(300, 7, escalate=True) == 0


def test_default_params_are_an_exact_job_without_escalation() -> None:
    params = JobParams(spec_digest=D, payment=90, replicas=3)
    assert params.as_tuple()[-4:] == (0, 0, bytes(32), 0)
    assert params.escrow == 90


def test_verification_fields_go_last_in_the_abi_tuple() -> None:
    params = JobParams(
        spec_digest=D,
        payment=90,
        replicas=3,
        verification=VerificationMode.TOLERANT,
        tolerance=24,
        reserve=210,
    )
    assert params.as_tuple()[-4:] == (1, 24, bytes(32), 210)
    assert params.escrow == 300
    exact = JobParams(spec_digest=D, payment=90, replicas=3, device_class=CLASS)
    assert exact.as_tuple()[-2:] == (CLASS, 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tolerance": 3}, "exact job compares digests byte for byte: tolerance must be 0, got 3"),
        (
            {"verification": VerificationMode.TOLERANT},
            r"tolerance must be 1..64 bits for a tolerant job, got 0",
        ),
        ({"verification": VerificationMode.TOLERANT, "tolerance": 65}, "got 65"),
        (
            {"verification": VerificationMode.TOLERANT, "tolerance": 8, "device_class": CLASS},
            "tolerant job runs on every device class",
        ),
        ({"device_class": b"\x01" * 31}, "device_class must be 32 bytes, got 31"),
        ({"reserve": 699}, r"reserve must be at least payment \* \(2k \+ 1\) / k = 700, got 699"),
        ({"replicas": 1, "reserve": 700}, r"re-run reserve needs 3..5 replicas, got 1"),
        ({"replicas": 7, "reserve": 10**6}, r"re-run reserve needs 3..5 replicas, got 7"),
    ],
)
def test_verification_params_are_checked_like_the_contract(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"spec_digest": D, "payment": 300, "replicas": 3}
    with pytest.raises(InvalidJobParamsError, match=message):
        JobParams(**{**base, **fields})  # type: ignore[arg-type]


def test_capabilities_carry_the_device_class_last() -> None:
    assert Capabilities(1, 1024, 0, 5).as_tuple()[-1] == bytes(32)
    assert Capabilities(1, 1024, 0, 5, device_class=CLASS).as_tuple() == (1, 1024, 0, 5, bytes(32), CLASS)
    with pytest.raises(InvalidJobParamsError, match="device_class must be 32 bytes"):
        Capabilities(1, 1024, 0, 5, device_class=b"short")


def _bench(replicas: int, verification: Verification | None = None) -> JobSpec:
    extra = {} if verification is None else {"verification": verification}
    return JobSpec(
        workload=BenchmarkWorkload(), replicas=replicas, requirements=Requirements(max_runtime_s=10), **extra
    )


def test_a_spec_becomes_the_params_job_submit_sends() -> None:
    exact = job_params(_bench(3), D, payment=300, collateral=100, windows=WINDOWS)
    assert exact.as_tuple()[-4:] == (0, 0, bytes(32), 700)
    assert exact.escrow == 1_000 and exact.reveal_window == 60
    tolerant = _bench(5, Verification(mode="tolerant", tolerance=12, escalate=False))
    params = job_params(tolerant, D, payment=500, collateral=100, windows=WINDOWS)
    assert params.as_tuple()[-4:] == (1, 12, bytes(32), 0)
    pinned = _bench(1, Verification(mode="exact", device_class="0x" + "ab" * 32))
    params = job_params(pinned, D, payment=10, collateral=10, windows=WINDOWS)
    assert params.as_tuple()[-4:] == (0, 0, CLASS, 0)
