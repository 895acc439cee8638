"""The GEMM benchmark: a seeded square matmul per device, its checksum and achieved TFLOP/s."""

import hashlib
import time

import torch

from neurolink.spec import BenchmarkWorkload
from node.worker.canonical import JSON, json_bytes
from node.worker.context import Outcome, RankContext
from node.worker.workloads.collective import all_gather_rows

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}


def gemm_operands(size: int, dtype: torch.dtype, seed: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Two seeded size-by-size matrices; drawn in float32 so every dtype sees the same numbers."""
    gen = torch.Generator().manual_seed(seed)
    a, b = (torch.randn(size, size, generator=gen).to(device=device, dtype=dtype) for _ in range(2))
    return a, b


def run_benchmark(ctx: RankContext, w: BenchmarkWorkload) -> Outcome:
    # Each rank multiplies its own matrices, so every device proves its own arithmetic.
    a, b = gemm_operands(w.size, DTYPES[w.dtype], ctx.spec.seed + ctx.rank, ctx.device)
    out = torch.mm(a, b)  # warm-up: first-call allocation and kernel selection stay out of the timing
    ctx.sync()
    start = time.perf_counter()
    for _ in range(w.iterations):
        torch.mm(a, b, out=out)
    ctx.sync()
    elapsed = time.perf_counter() - start
    tflops = 2 * w.size**3 * w.iterations / elapsed / 1e12
    digest = hashlib.sha256(out.cpu().contiguous().view(torch.uint8).numpy().tobytes()).digest()
    mine = torch.tensor([list(digest)], dtype=torch.uint8, device=ctx.device)
    digests = all_gather_rows(mine, [1] * ctx.world_size)
    rates = all_gather_rows(
        torch.tensor([tflops], dtype=torch.float64, device=ctx.device), [1] * ctx.world_size
    )
    per_rank = [round(float(r), 6) for r in rates.cpu()]
    metrics = {"tflops": per_rank, "tflops_total": sum(per_rank), "elapsed_s": elapsed}
    if ctx.rank:
        return Outcome(None, JSON, metrics)
    result = {
        "kind": "benchmark",
        "size": w.size,
        "dtype": w.dtype,
        "iterations": w.iterations,
        # Each rank's arithmetic: with the chain's claim-to-commit time it bounds the rate from below.
        "flop_per_rank": 2 * w.size**3 * w.iterations,
        "sha256": [bytes(d.tolist()).hex() for d in digests.cpu()],
    }
    return Outcome(json_bytes(result), JSON, metrics)
