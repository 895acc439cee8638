"""JobParams as the JobMarket's ABI expects them, validated by the contract's own rules first."""

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from neurolink.protocol.errors import InvalidJobParamsError

MAX_REPLICAS = 16
# JobMarket's MAX_TOLERANCE: Hamming distance in bits between two 256-bit fingerprints.
MAX_TOLERANCE = 64
# Replica counts a disagreement can be re-run for: the re-run draws 2k + 1 fresh slots, and both rounds
# (3k + 1 slots) must fit the contract's 16.
ESCALATION_REPLICAS = range(3, 6)
UINT96_MAX = 2**96 - 1
ZERO_CLASS = bytes(32)


class VerificationMode(IntEnum):
    """IJobMarket.Verification: digests compared byte for byte, or fingerprints within a tolerance."""

    EXACT = 0
    TOLERANT = 1


def _check_uint(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 2**bits:
        raise InvalidJobParamsError(f"{name} must fit uint{bits} (0..{2**bits - 1}), got {value}")


@dataclass(frozen=True)
class Capabilities:
    """What a provider registers in Staking (`metadata_digest`: sha2-256 digest of its metadata CID;
    `device_class`: its determinism class, neurolink.verification.suite.device_class, zero = unknown)."""

    gpu_count: int
    vram_mb: int
    tier: int
    price_per_gpu_second: int
    metadata_digest: bytes = bytes(32)
    device_class: bytes = ZERO_CLASS

    def __post_init__(self) -> None:
        if not 1 <= self.gpu_count < 2**16:
            raise InvalidJobParamsError(f"gpu_count must be in 1..65535, got {self.gpu_count}")
        _check_uint("vram_mb", self.vram_mb, 32)
        _check_uint("tier", self.tier, 8)
        _check_uint("price_per_gpu_second", self.price_per_gpu_second, 96)
        if len(self.metadata_digest) != 32:
            raise InvalidJobParamsError("metadata_digest must be 32 bytes")
        if len(self.device_class) != 32:
            raise InvalidJobParamsError(f"device_class must be 32 bytes, got {len(self.device_class)}")

    def as_tuple(self) -> tuple[int, int, int, int, bytes, bytes]:
        return (
            self.gpu_count,
            self.vram_mb,
            self.tier,
            self.price_per_gpu_second,
            self.metadata_digest,
            self.device_class,
        )


@dataclass(frozen=True)
class Requirements:
    """Hardware a job needs per replica and its GPU-second budget."""

    gpu_count: int = 1
    vram_mb: int = 0
    tier: int = 0
    max_gpu_seconds: int = 0

    def __post_init__(self) -> None:
        _check_uint("gpu_count", self.gpu_count, 16)
        _check_uint("vram_mb", self.vram_mb, 32)
        _check_uint("tier", self.tier, 8)
        _check_uint("max_gpu_seconds", self.max_gpu_seconds, 32)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.gpu_count, self.vram_mb, self.tier, self.max_gpu_seconds)


@dataclass(frozen=True)
class JobParams:
    """What `createJob` takes; windows are seconds chained from creation (claim, commit, reveal).

    `collateral` defaults to the per-replica share of the payment, P // k (at least 1): a slot that
    costs nothing to hold could be squatted for free.

    Verification (docs/VERIFICATION.md): `exact` jobs compare digests and take no tolerance; a nonzero
    `device_class` lets only that class claim (zero: the first claimer's class). `tolerant` jobs match
    fingerprints within `tolerance` bits and name no class. A nonzero `reserve` (escrowed on top of the
    payment, at least `minimum_reserve`) pays a re-run by 2k + 1 fresh providers when the replicas
    disagree; what it does not pay out goes back to the requester.
    """

    spec_digest: bytes
    payment: int
    replicas: int = 1
    quorum: int = 0
    collateral: int | None = None
    requirements: Requirements = field(default_factory=Requirements)
    claim_window: int = 600
    commit_window: int = 3_600
    reveal_window: int = 600
    verification: VerificationMode = VerificationMode.EXACT
    tolerance: int = 0
    device_class: bytes = ZERO_CLASS
    reserve: int = 0

    def __post_init__(self) -> None:
        if len(self.spec_digest) != 32 or self.spec_digest == bytes(32):
            raise InvalidJobParamsError("spec_digest must be a non-zero 32-byte sha2-256 digest")
        if not 0 < self.payment <= UINT96_MAX:
            raise InvalidJobParamsError(f"payment must be in 1..2**96-1, got {self.payment}")
        if not 1 <= self.replicas <= MAX_REPLICAS or self.replicas == 2:
            raise InvalidJobParamsError(
                f"replicas must be 1 or 3..{MAX_REPLICAS} (two cannot tell a liar from the honest one), "
                f"got {self.replicas}"
            )
        if self.collateral is None:
            object.__setattr__(self, "collateral", default_collateral(self.payment, self.replicas))
        if not 1 <= self.collateral_amount <= UINT96_MAX:
            raise InvalidJobParamsError(f"collateral must be in 1..2**96-1, got {self.collateral}")
        for name in ("claim_window", "commit_window", "reveal_window"):
            _check_uint(name, getattr(self, name), 32)
        low, high = quorum_range(self.replicas)
        if self.quorum != 0 and not low <= self.quorum <= high:
            raise InvalidJobParamsError(
                f"quorum must be a strict majority of {self.replicas} replicas short of all of them "
                f"({low}..{high}) or 0, got {self.quorum}"
            )
        self._check_verification()

    def _check_verification(self) -> None:
        if len(self.device_class) != 32:
            raise InvalidJobParamsError(f"device_class must be 32 bytes, got {len(self.device_class)}")
        if self.verification is VerificationMode.EXACT and self.tolerance != 0:
            raise InvalidJobParamsError(
                f"an exact job compares digests byte for byte: tolerance must be 0, got {self.tolerance}"
            )
        if self.verification is VerificationMode.TOLERANT:
            if not 1 <= self.tolerance <= MAX_TOLERANCE:
                raise InvalidJobParamsError(
                    f"tolerance must be 1..{MAX_TOLERANCE} bits for a tolerant job, got {self.tolerance}"
                )
            if self.device_class != ZERO_CLASS:
                raise InvalidJobParamsError(
                    "a tolerant job runs on every device class: device_class must be 0"
                )
        if self.reserve:
            if self.replicas not in ESCALATION_REPLICAS:
                raise InvalidJobParamsError(
                    f"a re-run reserve needs {ESCALATION_REPLICAS[0]}..{ESCALATION_REPLICAS[-1]} replicas,"
                    f" got {self.replicas}: pass reserve 0"
                )
            minimum = minimum_reserve(self.payment, self.replicas)
            if not minimum <= self.reserve < 2**256:
                raise InvalidJobParamsError(
                    f"reserve must be at least payment * (2k + 1) / k = {minimum}, got {self.reserve}"
                )

    @property
    def escrow(self) -> int:
        """What createJob pulls from the requester: the payment and the re-run reserve."""
        return self.payment + self.reserve

    @property
    def collateral_amount(self) -> int:
        """The collateral per slot (resolved from the default at construction)."""
        assert self.collateral is not None
        return self.collateral

    @property
    def effective_quorum(self) -> int:
        """The quorum the contract stores: floor(k/2)+1 when 0 was given."""
        return self.quorum or self.replicas // 2 + 1

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for `createJob` / `createJobWithPermit`."""
        return (
            self.spec_digest,
            self.payment,
            self.replicas,
            self.quorum,
            self.collateral_amount,
            self.requirements.as_tuple(),
            self.claim_window,
            self.commit_window,
            self.reveal_window,
            int(self.verification),
            self.tolerance,
            self.device_class,
            self.reserve,
        )


def default_collateral(payment: int, replicas: int) -> int:
    """The per-replica share of the payment, never 0."""
    return max(payment // max(replicas, 1), 1)


def minimum_reserve(payment: int, replicas: int) -> int:
    """The least reserve that pays a re-run: each of its 2k + 1 winners gets a replica's share, P / k."""
    return payment * (2 * replicas + 1) // replicas


def escalation_reserve(payment: int, replicas: int, escalate: bool) -> int:
    """The reserve to escrow: the minimum when a disagreement is to be re-run and k allows it, else 0."""
    return minimum_reserve(payment, replicas) if escalate and replicas in ESCALATION_REPLICAS else 0


def quorum_range(replicas: int) -> tuple[int, int]:
    """Quorums the contract accepts: 1 for one replica, else floor(k/2)+1..k-1 (one deviator, or one
    requester puppet, can then never force NoQuorum alone)."""
    if replicas == 1:
        return 1, 1
    return replicas // 2 + 1, replicas - 1
