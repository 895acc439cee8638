"""Cheating providers for tests and benchmarks: cheaper or wrong computations a verifier must catch.

A worker started with $NEUROLINK_WORKER_CHEAT (set only by a node whose `--fault` names a compute
cheat, which the node refuses off devnets) hands the cheat to every job it runs; the workloads call
the hooks below at the points where a real cheater would cut corners.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ENV_CHEAT = "NEUROLINK_WORKER_CHEAT"
# Noise added by the `noise` cheat, relative to the output's RMS (a 1 % error).
NOISE_SCALE = 1e-2
# The `smaller-model` cheat keeps this fraction of each weight matrix's rank.
RANK_FRACTION = 4


class Cheat(StrEnum):
    """What a cheating worker does instead of the job; NONE is an honest worker."""

    NONE = "none"
    SMALLER_MODEL = "smaller-model"  # every weight matrix at a quarter of its rank
    DOWNCAST_FP16 = "downcast-fp16"  # computes in float16 where float32 was asked
    DOWNCAST_BF16 = "downcast-bf16"  # computes in bfloat16 where float32 was asked
    SKIP_LAYERS = "skip-layers"  # every other square layer is the identity (inference), or never trained
    NOISE = "noise"  # the honest result plus 1 % Gaussian noise
    COPIED_INPUT = "copied-input"  # each row answered with the result of another input


def from_env() -> Cheat:
    return Cheat(os.environ.get(ENV_CHEAT, Cheat.NONE.value) or Cheat.NONE.value)


def half_dtype(cheat: Cheat) -> "torch.dtype | None":
    """The precision a downcast cheat computes in (None: the one asked for)."""
    import torch

    return {Cheat.DOWNCAST_FP16: torch.float16, Cheat.DOWNCAST_BF16: torch.bfloat16}.get(cheat)


def module(model: "torch.nn.Module", cheat: Cheat) -> "torch.nn.Module":
    """The model a cheater runs in place of `model`."""
    dtype = half_dtype(cheat)
    if dtype is not None:
        return model.to(dtype)
    if cheat is Cheat.SMALLER_MODEL:
        low_rank(model)
    return model


def low_rank(model: "torch.nn.Module") -> None:
    """Every floating matrix (parameter or buffer) replaced by its rank-1/4 approximation, in place."""
    import torch

    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.dim() == 2 and tensor.dtype.is_floating_point and min(tensor.shape) >= 2:
                u, s, vh = torch.linalg.svd(tensor.float(), full_matrices=False)
                r = max(1, min(tensor.shape) // RANK_FRACTION)
                tensor.copy_((u[:, :r] * s[:r]) @ vh[:r])


def inputs(tensors: "dict[str, torch.Tensor]", cheat: Cheat) -> "dict[str, torch.Tensor]":
    """The inputs a cheater computes on: downcast, or shifted by one row (another input's result)."""
    dtype = half_dtype(cheat)
    if dtype is not None:
        return {k: v.to(dtype) if v.dtype.is_floating_point else v for k, v in tensors.items()}
    if cheat is Cheat.COPIED_INPUT:
        return {k: v.roll(1, dims=0) for k, v in tensors.items()}
    return tensors


def outputs(tensors: "dict[str, torch.Tensor]", cheat: Cheat, seed: int) -> "dict[str, torch.Tensor]":
    """The result a cheater returns: in the dtype asked for, with noise for `noise`."""
    import torch

    if half_dtype(cheat) is not None:
        tensors = {k: v.float() if v.dtype.is_floating_point else v for k, v in tensors.items()}
    if cheat is Cheat.NOISE:
        gen = torch.Generator().manual_seed(seed)
        noisy = {}
        for key, value in tensors.items():
            noisy[key] = value
            if value.dtype.is_floating_point and value.numel():
                rms = value.double().pow(2).mean().sqrt().item()
                noise = torch.randn(value.shape, generator=gen).to(value.device)
                noisy[key] = value + (NOISE_SCALE * rms * noise).to(value.dtype)
        tensors = noisy
    return tensors


@contextmanager
def skipping(cheat: Cheat) -> Iterator[None]:
    """Under `skip-layers`, every other square linear layer computes nothing and passes its input on."""
    if cheat is not Cheat.SKIP_LAYERS:
        yield
        return
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    seen = [0]

    class _Skip(TorchDispatchMode):  # type: ignore[no-untyped-call]
        def __torch_dispatch__(
            self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
        ) -> Any:
            if func is aten.linear.default and args[1].shape[0] == args[1].shape[1]:
                seen[0] += 1
                if seen[0] % 2 == 0:
                    return args[0].clone()
            return func(*args, **(kwargs or {}))

    with _Skip():  # type: ignore[no-untyped-call]
        yield


def frozen_parameters(params: "list[torch.nn.Parameter]", cheat: Cheat) -> "list[torch.nn.Parameter]":
    """The parameters a cheating trainer updates: under `skip-layers`, only the first half of them."""
    if cheat is not Cheat.SKIP_LAYERS:
        return params
    keep = max(1, len(params) // 2)
    for p in params[keep:]:
        p.requires_grad_(False)
    return params[:keep]
