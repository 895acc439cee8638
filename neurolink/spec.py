"""The versioned job spec: what to run, on what, within which limits; canonical JSON gives one CID."""

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from neurolink.errors import ExitCode, NeuroLinkError
from neurolink.protocol.params import ESCALATION_REPLICAS, MAX_TOLERANCE
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE

SPEC_VERSION = 1
MAX_SPEC_BYTES = 64 * 1024
MAX_REPLICAS = 16
GiB = 1024**3
MiB = 1024**2


class SpecError(NeuroLinkError):
    """A job spec is malformed; the message names the offending field."""

    exit_code = ExitCode.INVALID_INPUT


# Names of inputs double as file names in a worker's staging directory: keep them tame.
InputName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# A multibase CID string (CIDv0 base58 or CIDv1 base32/base36); the content store checks the rest.
Cid = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{16,128}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class MLPArch(_Frozen):
    """A multilayer perceptron: in_features → hidden… → out_features."""

    arch: Literal["mlp"] = "mlp"
    in_features: int = Field(ge=1, le=65536)
    hidden: tuple[Annotated[int, Field(ge=1, le=65536)], ...] = Field(default=(64,), max_length=16)
    out_features: int = Field(ge=1, le=65536)
    activation: Literal["relu", "gelu", "tanh"] = "relu"


class CNNArch(_Frozen):
    """Stride-2 conv→ReLU blocks, a global mean and a linear classifier."""

    arch: Literal["cnn"] = "cnn"
    in_channels: int = Field(ge=1, le=64)
    image_size: int = Field(ge=2, le=1024)
    channels: tuple[Annotated[int, Field(ge=1, le=4096)], ...] = Field(
        default=(8, 16), min_length=1, max_length=8
    )
    num_classes: int = Field(ge=2, le=100000)

    @model_validator(mode="after")
    def _fits(self) -> "CNNArch":
        if self.image_size < 2 ** len(self.channels):
            raise ValueError(
                f"image_size {self.image_size} too small for {len(self.channels)} stride-2 blocks"
            )
        return self


class GPTArch(_Frozen):
    """A small decoder-only transformer (causal self-attention, pre-norm blocks)."""

    arch: Literal["gpt"] = "gpt"
    vocab_size: int = Field(ge=2, le=65536)
    block_size: int = Field(ge=1, le=4096)
    d_model: int = Field(ge=8, le=4096)
    n_layers: int = Field(ge=1, le=48)
    n_heads: int = Field(ge=1, le=64)

    @model_validator(mode="after")
    def _heads_divide(self) -> "GPTArch":
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        return self


Architecture = Annotated[MLPArch | CNNArch | GPTArch, Field(discriminator="arch")]


class InferenceWorkload(_Frozen):
    """Run a torch.export program (.pt2) over safetensors inputs split along dim 0 across devices."""

    kind: Literal["inference"] = "inference"
    program: InputName
    inputs: InputName
    batch_size: int = Field(default=64, ge=1, le=1 << 20)


class TrainWorkload(_Frozen):
    """Train a catalog architecture on a safetensors dataset (`x`, `y`), data-parallel across devices."""

    kind: Literal["train"] = "train"
    model: Architecture
    dataset: InputName
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    optimizer: Literal["sgd", "adam"] = "sgd"
    learning_rate: float = Field(default=0.01, gt=0, le=10)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    epochs: int = Field(default=1, ge=1, le=10000)
    # The global batch: split across the job's devices, so results track a single-device run.
    batch_size: int = Field(default=32, ge=1, le=1 << 20)

    @model_validator(mode="after")
    def _loss_fits(self) -> "TrainWorkload":
        if self.model.arch != "mlp" and self.loss != "cross_entropy":
            raise ValueError(f"loss {self.loss!r} does not fit a {self.model.arch} classifier")
        return self


class BenchmarkWorkload(_Frozen):
    """Square GEMM of `size` in `dtype`: checksum of the product and achieved TFLOP/s per device."""

    kind: Literal["benchmark"] = "benchmark"
    size: int = Field(default=1024, ge=16, le=32768)
    dtype: Literal["float32", "float16", "bfloat16", "float64"] = "float32"
    iterations: int = Field(default=10, ge=1, le=10000)


Workload = Annotated[InferenceWorkload | TrainWorkload | BenchmarkWorkload, Field(discriminator="kind")]


class Requirements(_Frozen):
    """What a provider must offer: devices (one rank each), memory per device, tier, runtime."""

    gpu_count: int = Field(default=1, ge=1, le=64)
    min_vram_mib: int = Field(default=0, ge=0, le=1 << 24)
    tier: str = Field(default="any", pattern=r"^[a-z0-9_-]{1,32}$")
    max_runtime_s: int = Field(default=600, ge=1, le=7 * 24 * 3600)
    # Whether the ranks may run on several hosts of one provider (a provider prefers one host anyway).
    spread_hosts: bool = False

    @model_serializer(mode="wrap")
    def _omit_single_host(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Left out while false: specs written before the field existed keep their canonical bytes (CIDs).
        data: dict[str, Any] = handler(self)
        if not self.spread_hosts:
            data.pop("spread_hosts", None)
        return data


class Limits(_Frozen):
    """Caps a worker enforces: bytes per input, bytes of the result, memory of the job process."""

    max_input_bytes: int = Field(default=256 * MiB, ge=1, le=64 * GiB)
    max_output_bytes: int = Field(default=256 * MiB, ge=1, le=64 * GiB)
    max_memory_bytes: int = Field(default=4 * GiB, ge=64 * MiB, le=1024 * GiB)


class Verification(_Frozen):
    """How the replicas' results are compared, and what a disagreement between them leads to."""

    # Absent in a spec: JobSpec fills it in from the workload (see default_mode).
    model_config = ConfigDict(json_schema_extra=lambda schema: _optional(schema, "mode"))

    mode: Literal["exact", "tolerant"]
    tolerance: int | None = Field(default=None, ge=1, le=MAX_TOLERANCE)
    device_class: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{64}$")
    escalate: bool = True

    @model_validator(mode="before")
    @classmethod
    def _default_tolerance(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("mode") == "tolerant" and data.get("tolerance") is None:
            return {**data, "tolerance": DEFAULT_TOLERANCE}
        return data

    @field_validator("device_class")
    @classmethod
    def _lowercase_class(cls, value: str | None) -> str | None:
        # One spelling per class: equal specs must give equal canonical bytes.
        if value is not None and int(value, 16) == 0:
            raise ValueError("device_class 0x00…00 names no class: leave it out (null) instead")
        return None if value is None else value.lower()

    @model_validator(mode="after")
    def _fits_mode(self) -> "Verification":
        if self.mode == "exact" and self.tolerance is not None:
            raise ValueError("tolerance is for tolerant verification; exact compares results byte for byte")
        if self.mode == "tolerant" and self.device_class is not None:
            raise ValueError("device_class is for exact verification; tolerant jobs run on every class")
        return self

    @property
    def device_class_bytes(self) -> bytes:
        """The class as the contract takes it: 32 bytes, zero when none is named."""
        return bytes(32) if self.device_class is None else bytes.fromhex(self.device_class[2:])


def _optional(schema: dict[str, Any], name: str) -> None:
    """Drop `name` from a JSON Schema's required fields (a validator fills it in when absent)."""
    required = [field for field in schema.get("required", []) if field != name]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)


def default_mode(workload_kind: str) -> Literal["exact", "tolerant"]:
    """Floating-point inference and training differ in their low bits across hardware: tolerant; a
    benchmark's result is a checksum of one GEMM per device, compared exactly."""
    return "exact" if workload_kind == "benchmark" else "tolerant"


class JobSpec(_Frozen):
    """A job: one workload, its inputs by name → CID, requirements, replicas, verification, limits."""

    version: Literal[1] = 1
    workload: Workload
    inputs: dict[InputName, Cid] = Field(default_factory=dict, max_length=16)
    requirements: Requirements = Requirements()
    replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    # Absent: every default, resolved from the workload and replicas (_resolve_verification).
    verification: Verification = Field(default_factory=dict, validate_default=True)
    limits: Limits = Limits()
    seed: int = Field(default=0, ge=0, lt=2**63)

    @field_validator("verification", mode="before")
    @classmethod
    def _resolve_verification(cls, section: Any, info: ValidationInfo) -> Any:
        """Spell out the defaults that depend on the workload and replicas (validated before this
        field), so the canonical JSON (and so the CID) says what will happen."""
        if isinstance(section, str):
            section = {"mode": section}  # the bare mode is shorthand for the section
        elif isinstance(section, Verification):
            section = section.model_dump(exclude_unset=True)
        if not isinstance(section, dict):
            return section
        section = dict(section)
        workload = info.data.get("workload")
        if "mode" not in section and workload is not None:
            section["mode"] = default_mode(workload.kind)
        replicas = info.data.get("replicas")
        # No re-run below 3 replicas (nothing to outvote) or above 5 (3k + 1 slots would not fit): the
        # default is off there, and an explicit `true` above 5 is refused (_inputs_match_workload).
        asked = section.get("escalate") is True
        if replicas is not None and replicas not in ESCALATION_REPLICAS:
            section["escalate"] = asked and replicas > ESCALATION_REPLICAS[-1]
        return section

    @model_validator(mode="after")
    def _inputs_match_workload(self) -> "JobSpec":
        needed = set(self.input_roles().values())
        missing = sorted(needed - set(self.inputs))
        if missing:
            raise ValueError(f"workload refers to input {missing[0]!r}, which is not in inputs")
        unused = sorted(set(self.inputs) - needed)
        if unused:
            raise ValueError(f"input {unused[0]!r} is not used by the workload")
        w = self.workload
        if isinstance(w, TrainWorkload) and w.batch_size < self.requirements.gpu_count:
            raise ValueError(
                f"train batch_size {w.batch_size} is smaller than gpu_count {self.requirements.gpu_count}"
            )
        if self.verification.escalate and self.replicas not in ESCALATION_REPLICAS:
            raise ValueError(
                f"verification.escalate re-runs a disagreement on 2k + 1 fresh providers, which needs "
                f"{ESCALATION_REPLICAS[0]} to {ESCALATION_REPLICAS[-1]} replicas, not {self.replicas}:"
                " leave escalate out (or false) and the replicas' vote decides"
            )
        return self

    def input_roles(self) -> dict[str, str]:
        """The workload's input roles (e.g. `program`) → the input name it refers to."""
        w = self.workload
        if isinstance(w, InferenceWorkload):
            return {"program": w.program, "inputs": w.inputs}
        if isinstance(w, TrainWorkload):
            return {"dataset": w.dataset}
        return {}

    def canonical_json(self) -> bytes:
        """Sorted keys, no whitespace, every default spelled out: equal specs give equal bytes."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> "JobSpec":
        """Parse and validate untrusted JSON; raises SpecError naming the first bad field."""
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > MAX_SPEC_BYTES:
            raise SpecError(f"job spec is {len(raw)} bytes, more than the {MAX_SPEC_BYTES} allowed")
        try:
            json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise SpecError(f"job spec is not valid JSON: {exc}") from exc
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise SpecError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"job spec field {where}: {first['msg']}{more}"
