"""The few collectives workloads need, written so the same code runs with one rank or many."""

import torch


def all_reduce_sum(tensor: torch.Tensor, world_size: int) -> None:
    if world_size > 1:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def all_gather_rows(tensor: torch.Tensor, rows_per_rank: list[int]) -> torch.Tensor:
    """Concatenate each rank's rows (uneven counts allowed) in rank order, on every rank."""
    if len(rows_per_rank) == 1:
        return tensor
    import torch.distributed as dist

    width = max(rows_per_rank)
    padded = torch.zeros((width, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in rows_per_rank]
    dist.all_gather(parts, padded)
    return torch.cat([part[:rows] for part, rows in zip(parts, rows_per_rank, strict=True)])


def shard_bounds(total: int, world_size: int, rank: int) -> tuple[int, int]:
    """Contiguous, near-equal shards of `total` items: rank r gets [lo, hi)."""
    base, extra = divmod(total, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)
