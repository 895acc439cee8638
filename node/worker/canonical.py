"""Canonical result bytes: safetensors with sorted keys and no metadata, or compact sorted JSON."""

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

SAFETENSORS = "application/vnd.safetensors"
JSON = "application/json"


def tensors_bytes(tensors: "dict[str, torch.Tensor]") -> bytes:
    """Tensors on the CPU, contiguous, in sorted key order, no metadata: same tensors, same bytes."""
    from safetensors.torch import save

    return bytes(save({k: tensors[k].detach().to("cpu").contiguous() for k in sorted(tensors)}))


def json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
