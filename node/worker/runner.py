"""The job process: one rank of one job, isolated from the worker (limits, determinism, process group).

The worker's zygote (node/worker/zygote.py) forks it with torch imported already, inside the
sandbox, and reads one JSON reply from a pipe; the process is killed after the job, so no state
leaks between jobs.
"""

import json
import math
import os
import resource
import signal
import time
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch

from neurolink.errors import VettingError
from neurolink.machine import cpu_model
from neurolink.spec import JobSpec
from neurolink.verification import emulation as emulated
from neurolink.vetting import vet_job
from node.worker.cheats import Cheat
from node.worker.context import Outcome, RankContext
from node.worker.errors import (
    DevicesUnavailableError,
    ExecutionError,
    MissingInputError,
    OutOfMemoryError,
    OutputTooLargeError,
    WorkloadError,
    failure_reply,
)


def preload() -> None:
    """In the zygote, before any fork: what every job would otherwise import on its first call (torch's
    manual_seed pulls in torch._dynamo), so each forked job starts with it done."""
    torch.manual_seed(0)


def child_main(conn: Connection, job_json: str) -> None:
    """Entry point of the job process: run the rank, reply once with a JSON object."""
    started = time.perf_counter()
    job = json.loads(job_json)
    try:
        reply: dict[str, Any] = {"ok": True, **_run(job)}
    except (ExecutionError, VettingError) as exc:
        reply = failure_reply(exc.code, str(exc))
    except MemoryError as exc:
        reply = failure_reply(OutOfMemoryError.code, f"out of memory: {exc}")
    except torch.cuda.OutOfMemoryError as exc:
        reply = failure_reply(OutOfMemoryError.code, f"out of device memory: {str(exc).splitlines()[0]}")
    except RuntimeError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        code = OutOfMemoryError.code if _is_oom(message) else WorkloadError.code
        reply = failure_reply(code, message)
    except Exception as exc:  # a workload bug or bad data: report it, never kill the worker
        reply = failure_reply(WorkloadError.code, f"{type(exc).__name__}: {exc}")
    reply.setdefault("timings", {})["process_s"] = time.perf_counter() - started
    conn.send_bytes(json.dumps(reply).encode())
    conn.close()


def _is_oom(message: str) -> bool:
    return any(s in message for s in ("can't allocate memory", "out of memory", "Cannot allocate memory"))


def _run(job: dict[str, Any]) -> dict[str, Any]:
    # Backstop if the worker itself dies: the kernel ends this process at the deadline anyway.
    signal.alarm(max(1, math.ceil(job["deadline"] - time.time()) + 5))
    spec = JobSpec.from_json(job["spec"])
    device = job["device"]
    if device["kind"] == "cpu":
        # CUDA reserves far more address space than it uses, so RLIMIT_AS is for CPU slots only;
        # on a GPU the device-memory share is capped in _hardware.
        _limit_memory(spec.limits.max_memory_bytes)
    _make_deterministic(spec.seed, device["threads"])
    # Off only for workers of the tests that show the sandbox containing what vetting refuses.
    inputs = _check_inputs(spec, job["inputs"], job.get("vet_programs", True))
    rank, world = job["rank"], job["world_size"]
    torch_device = torch.device("cuda", 0) if device["kind"] == "cuda" else torch.device("cpu")
    hardware = _hardware(
        torch_device, spec.requirements.min_vram_mib, spec.limits.max_memory_bytes, device["threads"]
    )
    ctx = RankContext(
        spec=spec,
        rank=rank,
        world_size=world,
        device=torch_device,
        inputs=inputs,
        emulation=emulated.parse(job.get("emulation", "none")),
        cheat=Cheat(job.get("cheat", "none")),
    )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(
            "nccl" if device["kind"] == "cuda" else "gloo",
            init_method=job["rendezvous"],
            rank=rank,
            world_size=world,
            timeout=timedelta(seconds=max(1.0, job["deadline"] - time.time())),
        )
    timings["rendezvous_s"] = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        with emulated.active(ctx.emulation):
            outcome = _workload(ctx)
        ctx.sync()
        timings["compute_s"] = time.perf_counter() - t1
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    metrics = {**outcome.metrics, "hardware": hardware}
    reply: dict[str, Any] = {"rank": rank, "metrics": metrics, "timings": timings}
    if outcome.data is not None:
        reply["result"] = _write_result(outcome, Path(job["out_dir"]), spec.limits.max_output_bytes)
    return reply


def _workload(ctx: RankContext) -> Outcome:
    from node.worker.workloads import run_workload

    return run_workload(ctx)


def _hardware(device: torch.device, min_vram_mib: int, max_memory: int, threads: int) -> dict[str, Any]:
    """The hardware class results are reproducible within; refuses a GPU with too little memory."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        vram_mib = props.total_memory // (1024 * 1024)
        if vram_mib < min_vram_mib:
            raise DevicesUnavailableError(
                f"device has {vram_mib} MiB of memory, the job needs {min_vram_mib}"
            )
        torch.cuda.set_per_process_memory_fraction(min(1.0, max_memory / props.total_memory), device)
        name = props.name
    else:
        # CPU slots have no VRAM; the memory a job may use is `limits.max_memory_bytes`.
        name = cpu_model()
    return {"kind": device.type, "name": name, "threads": threads, "torch": torch.__version__}


def _limit_memory(max_bytes: int) -> None:
    # RLIMIT_AS counts address space; torch maps a lot at import, so the budget starts from now.
    mapped = _mapped_bytes()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + max_bytes
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _mapped_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _make_deterministic(seed: int, threads: int) -> None:
    # cuBLAS needs this before its first call to be deterministic.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    # float32 means float32: TF32 products (cuDNN's default for convolutions) round like a float16
    # downcast, which tolerant verification rejects (docs/VERIFICATION.md).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    # Reductions split across threads round differently: the thread count is part of the hardware class.
    torch.set_num_threads(threads)
    torch.manual_seed(seed)


def _check_inputs(spec: JobSpec, staged: dict[str, str], vet: bool) -> dict[str, Path]:
    """The staged inputs, after exactly the static vetting `neurolink job submit` runs for requesters."""
    paths: dict[str, Path] = {}
    for name in spec.inputs:
        if name not in staged:
            raise MissingInputError(f"input {name!r} was not staged")
        paths[name] = Path(staged[name])
    if vet:
        vet_job(spec, paths)
    return paths


def _write_result(outcome: Outcome, out_dir: Path, max_bytes: int) -> dict[str, Any]:
    import hashlib

    assert outcome.data is not None
    if len(outcome.data) > max_bytes:
        raise OutputTooLargeError(f"result is {len(outcome.data)} bytes, over the limit of {max_bytes}")
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".json" if outcome.media_type.endswith("json") else ".safetensors"
    path = out_dir / f"result{suffix}"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(outcome.data)
    tmp.replace(path)
    return {
        "path": str(path),
        "sha256": hashlib.sha256(outcome.data).hexdigest(),
        "size": len(outcome.data),
        "media_type": outcome.media_type,
    }


def _preload() -> None:
    # Runs once in the zygote: what every job would otherwise import again (~1 s on a CPU box);
    # torch._inductor.config is what use_deterministic_algorithms pulls in.
    import torch._inductor.config
    import torch.distributed
    import torch.export  # noqa: F401

    import node.worker.workloads.benchmark
    import node.worker.workloads.inference
    import node.worker.workloads.train  # noqa: F401


_preload()
