"""Training: a catalog model, data-parallel by manual gradient all-reduce, deterministic end to end."""

import torch

from neurolink.spec import TrainWorkload
from neurolink.verification.emulation import Emulation
from node.worker import cheats
from node.worker.canonical import SAFETENSORS, tensors_bytes
from node.worker.context import Outcome, RankContext, load_tensors
from node.worker.errors import InvalidJobError
from node.worker.workloads import models
from node.worker.workloads.collective import all_reduce_sum, shard_bounds


def run_train(ctx: RankContext, w: TrainWorkload) -> Outcome:
    x, y = _dataset(ctx, w)
    torch.manual_seed(ctx.spec.seed)  # same initial weights on every rank
    model = models.build(w.model).to(ctx.device)
    params = list(model.parameters())
    optimizer = _optimizer(w, cheats.frozen_parameters(params, ctx.cheat))
    if (half := cheats.half_dtype(ctx.cheat)) is not None:
        model = model.to(half)
        x = x.to(half) if x.dtype.is_floating_point else x
        y = y.to(half) if y.dtype.is_floating_point else y
    if ctx.cheat is cheats.Cheat.COPIED_INPUT:
        y = y.roll(1, dims=0)  # trained on another dataset's labels
    order = torch.Generator().manual_seed(ctx.spec.seed)
    steps_per_epoch = x.shape[0] // w.batch_size
    lo, hi = shard_bounds(w.batch_size, ctx.world_size, ctx.rank)
    epoch_loss: list[float] = []
    for _ in range(w.epochs):
        perm = torch.randperm(x.shape[0], generator=order)
        total = torch.zeros((), dtype=torch.float64, device=ctx.device)
        for step in range(steps_per_epoch):
            # Every rank sees the same permutation and takes its slice of the global batch.
            idx = perm[step * w.batch_size :][lo:hi].to(ctx.device)
            if ctx.emulation is Emulation.BATCH_ORDER:
                idx = idx.flip(0)
            out = model(x[idx])
            per_item = models.loss_elements(w.loss, out) // idx.shape[0]
            # Sum over the shard divided by the global count: all-reduced, this is the batch mean.
            loss = models.loss_sum(w.loss, out, y[idx]) / (per_item * w.batch_size)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()  # type: ignore[no-untyped-call]
            total += _all_reduce_grads(params, loss.detach(), ctx.world_size)
            optimizer.step()
        epoch_loss.append(float(total) / steps_per_epoch)
    metrics = {"epoch_loss": epoch_loss, "final_loss": epoch_loss[-1], "steps": steps_per_epoch * w.epochs}
    if ctx.rank:
        return Outcome(None, SAFETENSORS, metrics)
    if ctx.cheat is cheats.Cheat.SMALLER_MODEL:
        cheats.low_rank(model)
    weights = {k: v.to(torch.float32) for k, v in model.state_dict().items()}
    weights = cheats.outputs(weights, ctx.cheat, ctx.spec.seed)
    return Outcome(tensors_bytes(weights, metrics), SAFETENSORS, metrics)


def _dataset(ctx: RankContext, w: TrainWorkload) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_tensors(ctx, w.dataset)
    if set(data) != {"x", "y"}:
        raise InvalidJobError(f"dataset must hold exactly tensors 'x' and 'y', found {sorted(data)}")
    x, y = data["x"], data["y"]
    if x.dim() == 0 or y.dim() == 0 or x.shape[0] != y.shape[0]:
        raise InvalidJobError(f"dataset x {tuple(x.shape)} and y {tuple(y.shape)} differ in rows")
    if x.shape[0] < w.batch_size:
        raise InvalidJobError(f"dataset has {x.shape[0]} rows, fewer than batch_size {w.batch_size}")
    if w.model.arch == "gpt":
        if x.dtype.is_floating_point or y.dtype.is_floating_point:
            raise InvalidJobError("gpt dataset x and y must be integer token ids")
        x = x.long()
    elif not x.dtype.is_floating_point:
        raise InvalidJobError(f"dataset x must be floating point for {w.model.arch}")
    else:
        x = x.float()
    if w.loss == "cross_entropy":
        if y.dtype.is_floating_point:
            raise InvalidJobError("cross_entropy needs integer class labels in y")
        y = y.long()
    else:
        y = y.float()
    return x.to(ctx.device), y.to(ctx.device)


def _optimizer(w: TrainWorkload, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    # foreach=False: the single-tensor path has one fixed operation order on every device.
    if w.optimizer == "adam":
        return torch.optim.Adam(params, lr=w.learning_rate, weight_decay=w.weight_decay, foreach=False)
    return torch.optim.SGD(
        params, lr=w.learning_rate, momentum=w.momentum, weight_decay=w.weight_decay, foreach=False
    )


def _all_reduce_grads(params: list[torch.nn.Parameter], loss: torch.Tensor, world_size: int) -> torch.Tensor:
    """Sum gradients and the loss over ranks in one collective; returns the global batch loss."""
    if world_size == 1:
        return loss.to(torch.float64)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([*(g.reshape(-1) for g in grads), loss.reshape(1).to(grads[0].dtype)])
    all_reduce_sum(flat, world_size)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
    return flat[-1].to(torch.float64)
