"""The determinism suite: a device's class id is the hash of what it computes for fixed kernels and inputs.

Two devices with one class id computed every output of the suite bit for bit the same: GEMMs in each
dtype, a convolution, attention, reductions and one training step (forward, backward, optimizer) at
fixed seeds and shapes. The shapes are small (well under a second on a CPU) yet large enough that
kernel choice, reduction splits and reduced-precision products show in the low bits.
"""

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from neurolink.verification.emulation import Emulation, active, from_env, row_order
from neurolink.verification.errors import SuiteError

if TYPE_CHECKING:
    import torch

SUITE_VERSION = b"neurolink.suite.v1"
_SEED = 20240611


def device_class(device: str, emulation: Emulation | None = None) -> bytes:
    """The 32-byte class id of `device` ("cpu", "cuda", "cuda:1"), under `emulation` (default: the env's)."""
    digest = hashlib.sha256(SUITE_VERSION)
    for name, tensor in suite_outputs(device, emulation).items():
        data = tensor.detach().to("cpu").contiguous().reshape(-1).view(_byte_dtype())
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(data.numpy().tobytes())
    return digest.digest()


@cache
def host_class(emulation: Emulation, slots: int) -> bytes:
    """The class a node on this machine registers and checks at start: that of its GPUs (which must
    agree), else of its CPU shared by `slots` device workers, computed under `emulation` with the
    settings a job process runs with. Cached: the suite's answer for one machine does not change while a
    process lives."""
    import torch

    from neurolink.machine import worker_threads

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    devices = [f"cuda:{i}" for i in range(gpus)] or ["cpu"]
    with job_settings(worker_threads(gpus, slots)):
        classes = {device: device_class(device, emulation) for device in devices}
    if len(set(classes.values())) > 1:
        shown = ", ".join(f"{d} {c.hex()[:12]}…" for d, c in classes.items())
        raise SuiteError(
            f"this machine's GPUs compute in different determinism classes ({shown}): run one node per"
            " class, each seeing only its GPUs (CUDA_VISIBLE_DEVICES)"
        )
    return classes[devices[0]]


@contextmanager
def job_settings(threads: int) -> Iterator[None]:
    """Inside the block, torch computes as node.worker.runner sets it up for a job: no TF32, no cuDNN
    autotuning, `threads` CPU threads (the suite itself turns on deterministic algorithms)."""
    import torch

    # cuBLAS is deterministic only with this set before its first call.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.benchmark,
        torch.get_num_threads(),
    )
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        matmul_tf32, cudnn_tf32, benchmark, previous = saved
        torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
        torch.backends.cudnn.allow_tf32 = cudnn_tf32
        torch.backends.cudnn.benchmark = benchmark
        torch.set_num_threads(previous)


def suite_outputs(device: str, emulation: Emulation | None = None) -> "dict[str, torch.Tensor]":
    """Every output of the suite on `device`, by name, in a fixed order."""
    import torch

    try:
        dev = torch.device(device)
        torch.empty(1, device=dev)
    except (RuntimeError, AssertionError) as exc:
        raise SuiteError(f"cannot run the determinism suite on {device!r}: {exc}") from exc
    emulation = from_env() if emulation is None else emulation
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with active(emulation), torch.random.fork_rng(devices=[]):
            return _run(dev, emulation)
    finally:
        torch.use_deterministic_algorithms(deterministic)


def _byte_dtype() -> "torch.dtype":
    import torch

    return torch.uint8


def _run(dev: "torch.device", emulation: Emulation) -> "dict[str, torch.Tensor]":
    import torch
    from torch.nn import functional

    gen = torch.Generator().manual_seed(_SEED)

    def randn(*shape: int) -> torch.Tensor:
        # Drawn on the CPU so every device gets the same inputs.
        return torch.randn(*shape, generator=gen).to(dev)

    out: dict[str, torch.Tensor] = {}
    a, b = randn(96, 160), randn(160, 72)
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        out[f"gemm.{dtype}".replace("torch.", "")] = a.to(dtype) @ b.to(dtype)
    out["bmm"] = torch.bmm(randn(4, 32, 48), randn(4, 48, 24))
    images, kernels, bias = randn(2, 6, 20, 20), randn(8, 6, 3, 3), randn(8)
    out["conv2d"] = functional.conv2d(images, kernels, bias, padding=1)
    q, k, v = randn(2, 4, 24, 16), randn(2, 4, 24, 16), randn(2, 4, 24, 16)
    out["attention"] = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = randn(64, 257)
    out["sum"] = x.sum(dim=1)
    out["mean"] = x.mean()
    out["softmax"] = x.softmax(dim=-1)
    out["layer_norm"] = functional.layer_norm(x, (257,))
    out["cumsum"] = x.reshape(-1).cumsum(0)
    # Rows in batches of 16 (the last one short): which rows share a batch shows in the bits.
    rows, weight = randn(50, 96), randn(96, 40)
    order = torch.tensor(row_order(50, emulation), device=dev)
    batched = torch.cat([rows[order[i : i + 16]] @ weight for i in range(0, 50, 16)])
    out["batched_rows"] = torch.empty_like(batched).index_copy_(0, order, batched)
    out.update(_training_step(dev, gen))
    return out


def _training_step(dev: "torch.device", gen: "torch.Generator") -> "dict[str, torch.Tensor]":
    import torch
    from torch import nn

    torch.manual_seed(_SEED)
    model = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 10)).to(dev)
    x = torch.randn(48, 32, generator=gen).to(dev)
    y = torch.randint(0, 10, (48,), generator=gen).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    for _ in range(2):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return {f"train.{name}": p.detach() for name, p in model.named_parameters()}
