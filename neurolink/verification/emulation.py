"""Emulated hardware classes for tests and benchmarks: how another device would round the same job.

Each emulation changes how products are computed the way a different GPU, library or setting does,
so one machine can produce the honest variation of a heterogeneous network:

- `split-k`: every matrix product and convolution sums its contraction in three partial products
  (a split-K GEMM, as cuBLAS picks by shape and SM count);
- `tf32`: the inputs of every matrix product and convolution lose their 13 low mantissa bits
  (TF32 tensor cores);
- `threads`: another thread count, each of two threads summing half of every contraction (a
  parallel reduction, two partial sums where split-k has three);
- `batch-order`: inference rows in reverse order, training batches in reverse order within a step,
  on a device whose products split their contraction for short batches (fewer than 32 rows), as
  cuBLAS picks a split-K by shape: which rows share the short batch shows in their bits, on any
  thread count (a one-thread CPU GEMM alone is batch-invariant).

Refused off devnets by the node (like faults); nothing here touches a chain.
"""

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from neurolink.verification.errors import VerificationError

if TYPE_CHECKING:
    import torch

# Read by the job process (and the determinism suite) to act as another device.
ENV_EMULATE = "NEUROLINK_EMULATE_DEVICE"
_SPLITS = 3
_SHORT_ROWS = 32
_TF32_MASK = ~0x1FFF  # float32 keeps 10 of its 23 mantissa bits, as TF32 does


class Emulation(StrEnum):
    """A hardware class to emulate; NONE is this machine as it is."""

    NONE = "none"
    SPLIT_K = "split-k"
    TF32 = "tf32"
    THREADS = "threads"
    BATCH_ORDER = "batch-order"


class EmulationError(VerificationError):
    """An unknown emulation name."""


def parse(value: str) -> Emulation:
    try:
        return Emulation(value)
    except ValueError:
        names = ", ".join(e.value for e in Emulation)
        raise EmulationError(f"unknown device emulation {value!r}; one of: {names}") from None


def from_env() -> Emulation:
    """The emulation this process was started with ($NEUROLINK_EMULATE_DEVICE, default none)."""
    return parse(os.environ.get(ENV_EMULATE, Emulation.NONE.value) or Emulation.NONE.value)


def emulated_threads(threads: int) -> int:
    """The thread count the `threads` emulation runs with instead of `threads`."""
    return 1 if threads > 1 else 2


def row_order(rows: int, emulation: Emulation) -> list[int]:
    """The order a device processes `rows` inference rows in (results go back to the given order)."""
    return list(range(rows))[::-1] if emulation is Emulation.BATCH_ORDER else list(range(rows))


@contextmanager
def active(emulation: Emulation) -> Iterator[None]:
    """Compute every product inside the block as the emulated device would."""
    if emulation is Emulation.NONE:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if emulation is Emulation.THREADS:
        torch.set_num_threads(emulated_threads(previous))
    try:
        with _mode(emulation):
            yield
    finally:
        torch.set_num_threads(previous)


def _mode(emulation: Emulation) -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    product = _PRODUCTS[emulation]

    class _Emulated(TorchDispatchMode):  # type: ignore[no-untyped-call]
        # Inside the handler the mode is off, so the torch calls below run natively.
        def __torch_dispatch__(
            self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
        ) -> Any:
            kwargs = kwargs or {}
            if func is aten.linear.default:
                x, w = args[0], args[1]
                bias = args[2] if len(args) > 2 else kwargs.get("bias")
                out = product(x, w.t())
                return out if bias is None else out + bias
            if func in (aten.matmul.default, aten.mm.default, aten.bmm.default) and not kwargs:
                return product(args[0], args[1])
            if func is aten.addmm.default and not kwargs and len(args) == 3:
                return args[0] + product(args[1], args[2])
            if func in (aten.convolution.default, aten.conv2d.default) and _plain_conv(func, args):
                return _conv(emulation, func, args, kwargs)
            return func(*args, **kwargs)

    return _Emulated()  # type: ignore[no-untyped-call]


def _truncate(x: "torch.Tensor") -> "torch.Tensor":
    import torch

    if x.dtype != torch.float32:
        return x
    return (x.contiguous().view(torch.int32) & _TF32_MASK).view(torch.float32)


def _tf32(a: "torch.Tensor", b: "torch.Tensor") -> "torch.Tensor":
    import torch

    return torch.matmul(_truncate(a), _truncate(b))


def _split_k(a: "torch.Tensor", b: "torch.Tensor", parts: int = _SPLITS) -> "torch.Tensor":
    import torch

    k = a.shape[-1]
    if k < parts or b.dim() == 1:
        return torch.matmul(a, b)
    bounds = [k * i // parts for i in range(parts + 1)]
    out = torch.matmul(a[..., bounds[0] : bounds[1]], b[..., bounds[0] : bounds[1], :])
    for lo, hi in itertools.pairwise(bounds[1:]):
        out = out + torch.matmul(a[..., lo:hi], b[..., lo:hi, :])
    return out


def _two_threads(a: "torch.Tensor", b: "torch.Tensor") -> "torch.Tensor":
    return _split_k(a, b, parts=2)


def _by_rows(a: "torch.Tensor", b: "torch.Tensor") -> "torch.Tensor":
    import torch

    rows = a.numel() // max(1, a.shape[-1])
    return _split_k(a, b) if rows < _SHORT_ROWS else torch.matmul(a, b)


_PRODUCTS: dict[Emulation, Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]] = {
    Emulation.SPLIT_K: _split_k,
    Emulation.TF32: _tf32,
    Emulation.THREADS: _two_threads,
    Emulation.BATCH_ORDER: _by_rows,
}


def _plain_conv(func: Any, args: tuple[Any, ...]) -> bool:
    """An ordinary (not transposed, one group) convolution: the kind emulated here."""
    import torch

    if func is torch.ops.aten.convolution.default:
        return len(args) >= 9 and not args[6] and args[8] == 1
    return len(args) < 7 or args[6] == 1


def _conv(emulation: Emulation, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, w = args[0], args[1]
    rest = list(args[2:])
    if emulation is Emulation.TF32:
        return func(_truncate(x), _truncate(w), *rest, **kwargs)
    channels = x.shape[1]
    parts = 2 if emulation is Emulation.THREADS else _SPLITS
    if emulation is Emulation.BATCH_ORDER or channels < parts:
        return func(x, w, *rest, **kwargs)
    # Split-K over input channels: partial convolutions without bias, then the bias once.
    bias, rest[0] = rest[0], None
    bounds = [channels * i // parts for i in range(parts + 1)]
    out = func(x[:, bounds[0] : bounds[1]], w[:, bounds[0] : bounds[1]], *rest, **kwargs)
    for lo, hi in itertools.pairwise(bounds[1:]):
        out = out + func(x[:, lo:hi], w[:, lo:hi], *rest, **kwargs)
    if bias is not None:
        out = out + bias.reshape(1, -1, *([1] * (out.dim() - 2)))
    return out
