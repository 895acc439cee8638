"""What a workload gets and gives: the rank's context (spec, device, inputs) and its outcome."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neurolink.spec import JobSpec
from neurolink.verification.emulation import Emulation
from node.worker.cheats import Cheat
from node.worker.errors import InvalidJobError


@dataclass(frozen=True)
class Outcome:
    """What a rank produced: the result (rank 0 only) and metrics."""

    data: bytes | None
    media_type: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RankContext:
    """Everything a workload needs to know about where and as which rank it runs."""

    spec: JobSpec
    rank: int
    world_size: int
    device: torch.device
    inputs: dict[str, Path]
    # Devnet tests and benchmarks only: the device this rank acts as, the cheat it commits.
    emulation: Emulation = Emulation.NONE
    cheat: Cheat = Cheat.NONE

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def load_tensors(ctx: RankContext, name: str) -> dict[str, torch.Tensor]:
    """A safetensors input (never a pickle) on the CPU; bad files become InvalidJobError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(ctx.inputs[name]))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidJobError(f"input {name!r} is not a valid safetensors file: {exc}") from exc
