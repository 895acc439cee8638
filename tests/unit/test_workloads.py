"""The workload catalog in-process (one rank): every architecture trains, results are canonical."""

import itertools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_tensors

from neurolink.spec import CNNArch, GPTArch, JobSpec, TrainWorkload
from node.worker.canonical import tensors_bytes
from node.worker.context import RankContext
from node.worker.errors import InvalidJobError
from node.worker.workloads import run_workload
from node.worker.workloads.collective import shard_bounds

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def _train(
    tmp_path: Path, model: CNNArch | GPTArch, x: torch.Tensor, y: torch.Tensor
) -> tuple[bytes, list[float]]:
    data = tmp_path / "data.safetensors"
    data.write_bytes(tensors_bytes({"x": x, "y": y}))
    spec = JobSpec(
        workload=TrainWorkload(
            model=model, dataset="data", optimizer="adam", learning_rate=0.01, epochs=4, batch_size=8
        ),
        inputs={"data": CID},
        seed=3,
    )
    ctx = RankContext(spec=spec, rank=0, world_size=1, device=torch.device("cpu"), inputs={"data": data})
    outcome = run_workload(ctx)
    assert outcome.data is not None
    return outcome.data, outcome.metrics["epoch_loss"]


def test_gpt_learns_a_repeating_sequence_deterministically(tmp_path: Path) -> None:
    tokens = torch.arange(64 * 9).remainder(5).view(64, 9)
    arch = GPTArch(vocab_size=5, block_size=8, d_model=16, n_layers=1, n_heads=2)
    first, losses = _train(tmp_path, arch, tokens[:, :-1], tokens[:, 1:])
    second, _ = _train(tmp_path, arch, tokens[:, :-1], tokens[:, 1:])
    assert first == second
    assert losses[-1] < 0.5 * losses[0], losses
    assert "tok.weight" in load_tensors(first)


def test_cnn_trains_on_images(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 1, 8, 8, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    arch = CNNArch(in_channels=1, image_size=8, channels=(4, 8), num_classes=2)
    weights, losses = _train(tmp_path, arch, x, y)
    again, _ = _train(tmp_path, arch, x, y)
    assert weights == again, "the same spec and seed give the same bytes"
    assert len(losses) == 4 and all(b < a for a, b in itertools.pairwise(losses)), losses
    shapes = sorted(tuple(t.shape) for t in load_tensors(weights).values())
    # Two 3x3 convolutions 1->4->8 and an 8->2 classifier, each with its bias: the arch as specified.
    assert shapes == sorted([(4, 1, 3, 3), (4,), (8, 4, 3, 3), (8,), (2, 8), (2,)]), shapes
    assert all(t.dtype == torch.float32 for t in load_tensors(weights).values())


def test_labels_must_be_integers_for_cross_entropy(tmp_path: Path) -> None:
    arch = CNNArch(in_channels=1, image_size=8, channels=(4,), num_classes=2)
    with pytest.raises(InvalidJobError, match="integer class labels"):
        _train(tmp_path, arch, torch.randn(16, 1, 8, 8), torch.rand(16))


def test_canonical_bytes_ignore_insertion_order_and_layout() -> None:
    a, b = torch.arange(6.0).view(2, 3), torch.ones(3)
    assert tensors_bytes({"a": a, "b": b}) == tensors_bytes({"b": b, "a": a.t().contiguous().t()})


@pytest.mark.parametrize(("total", "world"), [(10, 3), (2, 2), (7, 1), (5, 4)])
def test_shards_cover_every_row_once(total: int, world: int) -> None:
    bounds = [shard_bounds(total, world, r) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(hi == lo for (_, hi), (lo, _) in itertools.pairwise(bounds))
    assert max(hi - lo for lo, hi in bounds) - min(hi - lo for lo, hi in bounds) <= 1
