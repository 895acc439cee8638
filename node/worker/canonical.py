"""Canonical result bytes: safetensors with sorted keys and only the verified metrics, or sorted JSON."""

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from neurolink.results import METRICS_KEY

if TYPE_CHECKING:
    import torch

SAFETENSORS = "application/vnd.safetensors"
JSON = "application/json"


def tensors_bytes(tensors: "dict[str, torch.Tensor]", metrics: Mapping[str, Any] | None = None) -> bytes:
    """Tensors on the CPU, contiguous, in sorted key order, and `metrics` (deterministic figures only) as
    canonical JSON in the metadata: same tensors and figures, same bytes."""
    from safetensors.torch import save

    metadata = {METRICS_KEY: json_bytes(dict(metrics)).decode()} if metrics else None
    return bytes(save({k: tensors[k].detach().to("cpu").contiguous() for k in sorted(tensors)}, metadata))


def json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
