"""Inference: a vetted torch.export program over safetensors inputs, rows split across ranks."""

import io

import torch

from neurolink.spec import InferenceWorkload
from neurolink.verification.emulation import row_order
from node.worker import cheats
from node.worker.canonical import SAFETENSORS, tensors_bytes
from node.worker.context import Outcome, RankContext, load_tensors
from node.worker.errors import InvalidJobError
from node.worker.workloads.collective import all_gather_rows, shard_bounds


def load_program(data: bytes) -> tuple[torch.fx.GraphModule, list[str]]:
    """Load an archive the runner vetted: the module and its input names. Guard code never runs."""
    program = torch.export.load(io.BytesIO(data))
    module: torch.fx.GraphModule = program.module(check_guards=False)
    return module, [str(name) for name in program.graph_signature.user_inputs]


def run_inference(ctx: RankContext, w: InferenceWorkload) -> Outcome:
    data = ctx.inputs[w.program].read_bytes()
    module, names = load_program(data)
    model = cheats.module(module.to(ctx.device), ctx.cheat)
    tensors = load_tensors(ctx, w.inputs)
    if sorted(tensors) != sorted(names):
        raise InvalidJobError(f"inputs hold {sorted(tensors)}, the program takes {names}")
    rows = {t.shape[0] if t.dim() else -1 for t in tensors.values()}
    if len(rows) != 1 or -1 in rows:
        raise InvalidJobError("every input tensor must share its first (batch) dimension")
    total = rows.pop()
    if total < ctx.world_size:
        raise InvalidJobError(f"{total} rows cannot be split across {ctx.world_size} devices")
    lo, hi = shard_bounds(total, ctx.world_size, ctx.rank)
    tensors = cheats.inputs(tensors, ctx.cheat)
    # The order this (possibly emulated) device takes the shard's rows in; results keep the input order.
    order = torch.tensor(row_order(hi - lo, ctx.emulation), dtype=torch.long) + lo
    chunks: dict[str, list[torch.Tensor]] = {}
    with torch.inference_mode(), cheats.skipping(ctx.cheat):
        for start in range(0, hi - lo, w.batch_size):
            batch = order[start : start + w.batch_size]
            args = [tensors[n][batch].to(ctx.device) for n in names]
            for key, value in _named_outputs(model(*args)).items():
                if value.dim() == 0 or value.shape[0] != batch.shape[0]:
                    raise InvalidJobError(f"output {key!r} does not keep the batch dimension")
                chunks.setdefault(key, []).append(value)
    back = torch.argsort(order).to(ctx.device)
    shard = cheats.outputs({k: torch.cat(v)[back] for k, v in chunks.items()}, ctx.cheat, ctx.spec.seed)
    counts = [b - a for a, b in (shard_bounds(total, ctx.world_size, r) for r in range(ctx.world_size))]
    outputs = {k: all_gather_rows(v, counts) for k, v in sorted(shard.items())}
    result = tensors_bytes(outputs, {"rows": total}) if ctx.rank == 0 else None
    return Outcome(result, SAFETENSORS, {"rows": total, "rows_on_rank": hi - lo})


def _named_outputs(value: object) -> dict[str, torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return {"output": value}
    if isinstance(value, dict) and all(isinstance(v, torch.Tensor) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list | tuple) and all(isinstance(v, torch.Tensor) for v in value):
        return {f"output_{i}": v for i, v in enumerate(value)}
    raise InvalidJobError("the program must return a tensor, a tuple of tensors or a dict of tensors")
