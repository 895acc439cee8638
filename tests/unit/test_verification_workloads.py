"""Emulated devices and cheats inside the workloads (in-process): each does what it claims to the result."""

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load

from neurolink.verification.emulation import Emulation, active
from node.worker.cheats import Cheat
from node.worker.context import RankContext
from node.worker.samples import SampleJob, verification_jobs
from node.worker.workloads import models, run_workload

# 100 rows in batches of 48: the last batch is short, as batch-order emulation needs.
INFERENCE, TRAIN = verification_jobs(seed=3, rows=100)


def _run(
    job: SampleJob, folder: Path, emulation: Emulation = Emulation.NONE, cheat: Cheat = Cheat.NONE
) -> dict[str, torch.Tensor]:
    paths = {}
    for name, data in job.inputs.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    ctx = RankContext(
        spec=job.spec, rank=0, world_size=1, device=torch.device("cpu"), inputs=paths,
        emulation=emulation, cheat=cheat,
    )  # fmt: skip
    with active(emulation):
        outcome = run_workload(ctx)
    assert outcome.data is not None
    return load(outcome.data)


def _rel(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert sorted(a) == sorted(b) and all(a[k].dtype == b[k].dtype for k in a), "another structure"
    x = torch.cat([a[k].double().reshape(-1) for k in sorted(a)])
    y = torch.cat([b[k].double().reshape(-1) for k in sorted(b)])
    return float((x - y).norm() / x.norm())


@pytest.fixture(scope="module", params=[INFERENCE, TRAIN], ids=["inference", "train"])
def job(request: pytest.FixtureRequest) -> SampleJob:
    job: SampleJob = request.param
    return job


@pytest.fixture(scope="module")
def honest(job: SampleJob, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    return _run(job, tmp_path_factory.mktemp("honest"))


@pytest.mark.parametrize("emulation", [e for e in Emulation if e is not Emulation.NONE])
def test_each_emulated_device_rounds_differently(
    job: SampleJob, honest: dict[str, torch.Tensor], tmp_path: Path, emulation: Emulation
) -> None:
    other = _run(job, tmp_path, emulation)
    error = _rel(honest, other)
    assert error > 0, f"{emulation} gave the same bytes"
    # Reduction order moves the last bits; TF32's 10-bit products move much more (docs/VERIFICATION.md).
    assert error < (0.2 if emulation is Emulation.TF32 else 1e-5)


def test_cheats_change_the_result_as_claimed(
    job: SampleJob, honest: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    def cheat(c: Cheat) -> dict[str, torch.Tensor]:
        return _run(job, tmp_path / c.value, cheat=c)

    for c in Cheat:
        (tmp_path / c.value).mkdir()
    assert _rel(honest, cheat(Cheat.NONE)) == 0
    assert _rel(honest, cheat(Cheat.SMALLER_MODEL)) > 0.1
    assert 5e-3 < _rel(honest, cheat(Cheat.NOISE)) < 2e-2
    bf16 = _rel(honest, cheat(Cheat.DOWNCAST_BF16))
    fp16 = _rel(honest, cheat(Cheat.DOWNCAST_FP16))
    assert bf16 > 1e-3
    assert math.isnan(fp16) or fp16 > 1e-4  # fp16 Adam's epsilon underflows: NaN weights
    assert _rel(honest, cheat(Cheat.SKIP_LAYERS)) > 0.1
    copied = cheat(Cheat.COPIED_INPUT)
    if job is INFERENCE:
        # Each row carries the answer for the row before it: another input's result.
        assert torch.equal(copied["output"], honest["output"].roll(1, dims=0))
    else:
        assert _rel(honest, copied) > 0.1


def test_skipped_layers_are_never_trained(tmp_path: Path) -> None:
    result = _run(TRAIN, tmp_path, cheat=Cheat.SKIP_LAYERS)
    torch.manual_seed(TRAIN.spec.seed)
    initial = models.build(TRAIN.spec.workload.model).state_dict()  # type: ignore[union-attr]
    names = list(initial)
    frozen, trained = names[len(names) // 2 :], names[: len(names) // 2]
    assert all(torch.equal(result[n], initial[n]) for n in frozen)
    assert not any(torch.equal(result[n], initial[n]) for n in trained)
