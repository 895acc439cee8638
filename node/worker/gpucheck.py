"""The GPU check behind `scripts/gpu_check.py`: every GPU-specific path of a provider, end to end, in one run.

It starts one device worker per GPU (node/worker/pool.py) on the embedded SQLite broker in a
temporary home and runs independent checks against them: the three workloads on one device and
on all of them (NCCL ranks), determinism (same bytes twice, same class id in two fresh processes),
the memory limit, a timeout kill, and GEMM throughput of the `benchmark` workload against plain
torch. One failing check is reported and the others still run. `Plan.cpu` runs the same code on
CPU device slots with tiny sizes, so everything but the CUDA specifics runs on any machine.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neurolink.bench import summary
from neurolink.config import Settings, load_settings
from neurolink.machine import cpu_model, gpu_names, worker_threads
from neurolink.spec import BenchmarkWorkload, JobSpec, Limits, Requirements
from node.worker.dispatch import Dispatcher, JobResult
from node.worker.errors import DevicesUnavailableError, ExecutionError, JobTimeoutError, OutOfMemoryError
from node.worker.pool import WorkerPool
from node.worker.samples import SampleJob, benchmark_job, inference_job, train_job

Check = Callable[[], dict[str, Any]]
GiB = 1024**3
MiB = 1024**2
CHECKS = ("workers", "workloads_1", "workloads_all", "determinism", "memory_limit", "timeout", "gemm")


@dataclass(frozen=True)
class MemoryCase:
    """A benchmark job whose operands do not fit its declared memory limit."""

    name: str
    size: int
    dtype: Literal["float32", "float16", "bfloat16", "float64"]
    limit_bytes: int


@dataclass(frozen=True)
class Plan:
    """What the check runs on and how big: GPUs with the real sizes, or CPU slots with tiny ones."""

    kind: Literal["cuda", "cpu"]
    devices: int
    gemm_sizes: tuple[int, ...]
    gemm_dtypes: tuple[Literal["float32", "bfloat16", "float16"], ...]
    gemm_iterations: Mapping[int, int]
    gemm_runs: int
    memory_cases: tuple[MemoryCase, ...]
    # A benchmark far longer than `timeout_s`, which must be killed at that deadline.
    endless_size: int
    timeout_s: float

    @classmethod
    def cuda(cls, gpus: int, runs: int = 3) -> "Plan":
        return cls(
            kind="cuda",
            devices=gpus,
            gemm_sizes=(4096, 8192, 16384),
            gemm_dtypes=("float32", "bfloat16", "float16"),
            # About 0.1 to 1 s of float32 GEMM per run on an H100-class GPU; each job also draws its
            # operands on one CPU thread (seconds at 16384), which is why the counts stay small.
            gemm_iterations={4096: 100, 8192: 20, 16384: 5},
            gemm_runs=runs,
            memory_cases=(
                # Under the host limit: the job process itself is over 64 MiB once torch runs.
                MemoryCase("host", 8192, "float64", 64 * MiB),
                # Three 2 GiB float64 matrices on the GPU against a 4 GiB device-memory share.
                MemoryCase("device", 16384, "float64", 4 * GiB),
            ),
            endless_size=8192,
            timeout_s=5.0,
        )

    @classmethod
    def cpu(cls, slots: int, runs: int = 2) -> "Plan":
        return cls(
            kind="cpu",
            devices=slots,
            gemm_sizes=(64, 128),
            gemm_dtypes=("float32", "bfloat16", "float16"),
            gemm_iterations={64: 5, 128: 5},
            gemm_runs=runs,
            memory_cases=(MemoryCase("host", 8192, "float64", 64 * MiB),),
            endless_size=512,
            timeout_s=3.0,
        )


def cuda_devices() -> list[str]:
    """The CUDA devices torch can use here, by name; raises DevicesUnavailableError when there is none."""
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    listed = gpu_names()
    if listed and torch.version.cuda is None:
        why = f"nvidia-smi lists {len(listed)} GPU(s) but torch {torch.__version__} is built without CUDA"
    elif listed:
        why = f"nvidia-smi lists {len(listed)} GPU(s) but torch cannot use them (see CUDA_VISIBLE_DEVICES)"
    else:
        why = "torch sees none and nvidia-smi lists none"
    raise DevicesUnavailableError(f"no CUDA device was found: {why}")


def run_checks(checks: Mapping[str, Check]) -> dict[str, dict[str, Any]]:
    """Run every check in order, each on its own: an exception is that check's failure, not the run's."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in checks.items():
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:  # any failure of one check is reported; the next still runs
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result.setdefault("ok", False)
        result["seconds"] = round(time.monotonic() - started, 2)
        results[name] = result
    return results


def _device_info(plan: Plan) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"kind": plan.kind, "count": plan.devices, "torch": torch.__version__}
    if plan.kind == "cuda":
        info["names"] = [torch.cuda.get_device_name(i) for i in range(plan.devices)]
        info["cuda"] = torch.version.cuda
        try:
            version = torch.cuda.nccl.version()  # type: ignore[no-untyped-call]
        except (RuntimeError, AttributeError):
            version = None
        # A (major, minor, patch) tuple in current torch, one integer in older releases.
        info["nccl"] = ".".join(map(str, version)) if isinstance(version, tuple) else version
    else:
        info["names"] = [cpu_model()] * plan.devices
    return info


class GpuCheck:
    """The checks of one plan against one worker pool, started by the `workers` check."""

    def __init__(self, settings: Settings, plan: Plan) -> None:
        self.settings = settings
        self.plan = plan
        self.pool: WorkerPool | None = None
        self.dispatcher = Dispatcher(settings)
        self.threads = worker_threads(plan.devices if plan.kind == "cuda" else 0, plan.devices)

    def checks(self, only: tuple[str, ...] = CHECKS) -> dict[str, Check]:
        every: dict[str, Check] = {
            "workers": self.workers,
            "workloads_1": lambda: self.workloads(1),
            "workloads_all": self.workloads_all,
            "determinism": self.determinism,
            "memory_limit": self.memory_limit,
            "timeout": self.timeout,
            "gemm": self.gemm,
        }
        # The workers run first whatever was asked: every other check but determinism needs them.
        return {name: check for name, check in every.items() if name == "workers" or name in only}

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool = None

    # -- checks -----------------------------------------------------------------------------------

    def workers(self) -> dict[str, Any]:
        gpus = self.plan.devices if self.plan.kind == "cuda" else 0
        self.pool = WorkerPool(self.settings, slots=self.plan.devices, gpus=gpus)
        devices = self.pool.start()
        self.pool.wait_ready(timeout=300)
        return {
            "ok": self.pool.kind == self.plan.kind and len(devices) == self.plan.devices,
            "kind": self.pool.kind,
            "threads_per_worker": self.pool.threads,
            "devices": [{"queue": d.queue, "device": d.device_id, "pid": d.pid} for d in devices],
        }

    def workloads_all(self) -> dict[str, Any]:
        if self.plan.devices < 2:
            return {"ok": True, "skipped": "one device: there is no multi-rank group to form"}
        return self.workloads(self.plan.devices)

    def workloads(self, devices: int) -> dict[str, Any]:
        """Each workload twice on `devices` ranks (NCCL on GPUs, gloo on CPU): the same bytes both times."""
        jobs = [benchmark_job(devices=devices), inference_job(devices=devices), train_job(devices=devices)]
        report: dict[str, Any] = {
            "ranks": devices,
            "backend": None if devices == 1 else ("nccl" if self.plan.kind == "cuda" else "gloo"),
        }
        ok = True
        for job in jobs:
            (first, first_bytes, first_s), (_, second_bytes, second_s) = self._run(job), self._run(job)
            same = first_bytes == second_bytes
            hardware = dict(first.metrics.get("hardware", {}))
            ok = ok and same and hardware.get("kind") == self.plan.kind and len(first.devices) == devices
            report[job.name] = {
                "sha256": first.sha256,
                "same_bytes_twice": same,
                "devices": list(first.devices),
                "hardware": hardware,
                "sandboxed": first.sandboxed,
                "seconds": [round(first_s, 3), round(second_s, 3)],
            }
        report["ok"] = ok
        return report

    def determinism(self) -> dict[str, Any]:
        """The determinism class of every device, computed in two fresh processes: one id, twice."""
        runs = [self._class_ids_in_new_process() for _ in range(2)]
        ids = {class_id for run in runs for class_id in run.values()}
        return {
            "ok": len(ids) == 1 and runs[0] == runs[1],
            "class_ids": runs,
            "same_class_twice": runs[0] == runs[1],
            "one_class_for_all_devices": all(len(set(run.values())) == 1 for run in runs),
        }

    def memory_limit(self) -> dict[str, Any]:
        """Jobs over their declared memory end as OutOfMemory; the workers then take the next job."""
        report: dict[str, Any] = {}
        ok = True
        for case in self.plan.memory_cases:
            spec = JobSpec(
                workload=BenchmarkWorkload(size=case.size, dtype=case.dtype, iterations=1),
                requirements=Requirements(max_runtime_s=120),
                limits=Limits(max_memory_bytes=case.limit_bytes),
            )
            outcome = self._expect_failure(SampleJob(f"oom-{case.name}", spec, {}), OutOfMemoryError)
            report[case.name] = {
                "size": case.size,
                "dtype": case.dtype,
                "limit_bytes": case.limit_bytes,
                **outcome,
            }
            ok = ok and outcome["ok"]
        report["next_job"] = self._next_job()
        report["ok"] = ok and report["next_job"] == "ran on every device"
        return report

    def timeout(self) -> dict[str, Any]:
        """A job far longer than its timeout is killed near it; every device then takes the next job."""
        endless = benchmark_job(size=self.plan.endless_size, iterations=10000)
        outcome = self._expect_failure(endless, JobTimeoutError, timeout=self.plan.timeout_s)
        # The kill comes at the deadline, plus the zygote's check interval and the reply's way back.
        in_time = outcome["failed_after_s"] < self.plan.timeout_s + 30
        next_job = self._next_job()
        return {
            "ok": outcome["ok"] and in_time and next_job == "ran on every device",
            "timeout_s": self.plan.timeout_s,
            "killed_in_time": in_time,
            "next_job": next_job,
            **{k: v for k, v in outcome.items() if k != "ok"},
        }

    def gemm(self) -> dict[str, Any]:
        """TFLOP/s of the `benchmark` workload against plain torch.mm in this process, interleaved."""
        import torch

        from node.worker.workloads.benchmark import DTYPES, gemm_operands

        device = torch.device("cuda", 0) if self.plan.kind == "cuda" else torch.device("cpu")
        torch.set_num_threads(self.threads)
        results = []
        ok = True
        for dtype in self.plan.gemm_dtypes:
            for size in self.plan.gemm_sizes:
                iterations = self.plan.gemm_iterations[size]
                job = SampleJob(
                    "gemm",
                    JobSpec(
                        workload=BenchmarkWorkload(size=size, dtype=dtype, iterations=iterations),
                        requirements=Requirements(max_runtime_s=300),
                        limits=Limits(max_memory_bytes=16 * GiB),
                    ),
                    {},
                )
                a, b = gemm_operands(size, DTYPES[dtype], job.spec.seed, device)
                out = torch.mm(a, b)
                worker, plain, same = [], [], []
                # Interleaved, so anything else on the machine hits both sides alike.
                for _ in range(self.plan.gemm_runs):
                    result, data, _ = self._run(job)
                    worker.append(float(result.metrics["tflops"][0]))
                    plain.append(2 * size**3 * iterations / _time_mm(a, b, out, iterations) / 1e12)
                    digest = json.loads(data)["sha256"][0]
                    same.append(digest == _sha256(out))
                ratio = statistics.median(worker) / statistics.median(plain)
                ok = ok and all(same)
                results.append({
                    "dtype": dtype,
                    "size": size,
                    "iterations": iterations,
                    "worker_tflops": summary(worker, digits=4),
                    "plain_torch_tflops": summary(plain, digits=4),
                    "ratio": round(ratio, 3),
                    "same_product_as_plain_torch": all(same),
                })  # fmt: skip
                del a, b, out
                if device.type == "cuda":
                    torch.cuda.empty_cache()
        return {"ok": ok, "runs": self.plan.gemm_runs, "timing": _timing_note(device), "results": results}

    # -- helpers ----------------------------------------------------------------------------------

    def _run(self, job: SampleJob, timeout: float | None = None) -> tuple[JobResult, bytes, float]:
        """Run `job` on the workers: its result, the result's bytes (its files are removed), the seconds."""
        job_id = f"gpucheck-{job.name}-{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        try:
            result = self.dispatcher.run(job_id, job.spec, job.inputs, timeout=timeout)
            return result, result.read_bytes(), time.perf_counter() - started
        finally:
            self.dispatcher.cleanup(job_id)

    def _next_job(self) -> str:
        """Whether a small job on every device runs after a killed one: the workers outlived it."""
        try:
            self._run(benchmark_job(size=64, devices=self.plan.devices))
        except ExecutionError as exc:
            return f"failed: {exc.code}: {exc}"
        return "ran on every device"

    def _expect_failure(
        self, job: SampleJob, expected: type[ExecutionError], timeout: float | None = None
    ) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            self._run(job, timeout=timeout)
        except ExecutionError as exc:
            return {
                "ok": type(exc) is expected,
                "code": exc.code,
                "expected_code": expected.code,
                "message": str(exc),
                "failed_after_s": round(time.perf_counter() - started, 3),
            }
        return {
            "ok": False,
            "code": None,
            "expected_code": expected.code,
            "message": "the job ran to completion",
            "failed_after_s": round(time.perf_counter() - started, 3),
        }

    def _class_ids_in_new_process(self) -> dict[str, str]:
        devices = [f"cuda:{i}" for i in range(self.plan.devices)] if self.plan.kind == "cuda" else ["cpu"]
        code = (
            "import json, sys; from node.worker.gpucheck import class_ids; "
            "print(json.dumps(class_ids(sys.argv[1].split(','), int(sys.argv[2]))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, ",".join(devices), str(self.threads)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            raise RuntimeError(f"the determinism suite failed: {tail[0]}")
        ids: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
        return ids


def class_ids(devices: list[str], threads: int) -> dict[str, str]:
    """The determinism class id of each device, computed with the settings a job process runs with."""
    from neurolink.verification.emulation import Emulation
    from neurolink.verification.suite import device_class, job_settings

    with job_settings(threads):
        return {device: "0x" + device_class(device, Emulation.NONE).hex() for device in devices}


def _time_mm(a: Any, b: Any, out: Any, iterations: int) -> float:
    """Seconds for `iterations` of torch.mm(a, b): CUDA events on a GPU, the wall clock on a CPU."""
    import torch

    torch.mm(a, b, out=out)  # warm-up, as the workload does
    if a.device.type == "cuda":
        torch.cuda.synchronize(a.device)
        start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        start.record()
        for _ in range(iterations):
            torch.mm(a, b, out=out)
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1000
    started = time.perf_counter()
    for _ in range(iterations):
        torch.mm(a, b, out=out)
    return time.perf_counter() - started


def _sha256(tensor: Any) -> str:
    import hashlib

    import torch

    return hashlib.sha256(tensor.cpu().contiguous().view(torch.uint8).numpy().tobytes()).hexdigest()


def _timing_note(device: Any) -> str:
    if device.type == "cuda":
        return "worker: wall clock around synchronized torch.mm calls; plain: CUDA events"
    return "worker and plain: wall clock around torch.mm calls"


def run(plan: Plan, only: tuple[str, ...] = CHECKS, home: Path | None = None) -> dict[str, Any]:
    """Every check of `plan` (those in `only`, and the workers) in a temporary node home; the report."""
    import tempfile

    # cuBLAS is deterministic only when this is set before its first call in a process: the plain
    # torch GEMMs here then run under the same cuBLAS settings as the jobs.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    with tempfile.TemporaryDirectory(prefix="neurolink-gpucheck-", dir=home) as tmp:
        settings = load_settings(
            home=Path(tmp),
            broker_url="sqlite",
            result_backend="sqlite",
            queue_prefix=f"gpucheck-{uuid.uuid4().hex[:8]}",
        )
        check = GpuCheck(settings, plan)
        try:
            results = run_checks(check.checks(only))
        finally:
            check.stop()
    failed = [name for name, result in results.items() if not result["ok"]]
    return {
        "status": "failed" if failed else "ok",
        "failed": failed,
        "device": _device_info(plan),
        "checks": results,
    }
