"""Execution benchmarks: dispatch overhead (SQLite, Redis vs direct), training throughput, GEMM TFLOP/s.

    .venv/bin/python scripts/bench_execution.py [--redis redis://127.0.0.1:6379/9] [--rounds 100]
                                                [--runs 5] [--slots 2]

Starts real device workers (one per GPU, else --slots CPU slots) per broker in a temporary home;
prints one JSON object and writes it (with the commit, date and machine) to docs/bench/execution.json.
"""

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import torch

from neurolink.bench import BenchRun, summary
from neurolink.config import Settings, load_settings
from node.worker.app import TASK_PING, make_app
from node.worker.context import RankContext
from node.worker.dispatch import Dispatcher
from node.worker.pool import WorkerPool
from node.worker.samples import SampleJob, benchmark_job, train_job
from node.worker.workloads import run_workload


def ms(samples: list[float]) -> dict[str, Any]:
    return summary(samples, scale=1000)


def direct_job(job: SampleJob, threads: int) -> float:
    """The same workload called in this process: what a job costs without any dispatch."""
    torch.set_num_threads(threads)
    ctx = RankContext(spec=job.spec, rank=0, world_size=1, device=torch.device("cpu"), inputs={})
    started = time.perf_counter()
    run_workload(ctx)
    return time.perf_counter() - started


def idle_worker_cpu(pool: WorkerPool, seconds: float = 10.0) -> dict[str, Any]:
    """Share of one core each idle device worker uses while it polls its queue (nothing queued)."""
    import psutil

    workers = [psutil.Process(p.pid) for p in pool.processes.values()]
    time.sleep(2.0)  # past start-up
    before = [sum(w.cpu_times()[:2]) for w in workers]
    time.sleep(seconds)
    used = [sum(w.cpu_times()[:2]) - b for w, b in zip(workers, before, strict=True)]
    return {"seconds": seconds, "per_worker_pct": [round(100 * u / seconds, 1) for u in used]}


def dispatch_overhead(settings: Settings, rounds: int, threads: int) -> dict[str, Any]:
    app = make_app(settings)
    queue = f"{settings.queue_prefix}.dev0"
    ping_s, job_s, direct_s = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        result = app.send_task(TASK_PING, args=["x"], queue=queue, task_id=f"bench-{uuid.uuid4()}")
        result.get(timeout=30, interval=0.001)
        ping_s.append(time.perf_counter() - started)
        result.forget()
    dispatcher = Dispatcher(settings)
    trivial = benchmark_job(size=16, iterations=1)
    for i in range(max(10, rounds // 5)):
        started = time.perf_counter()
        dispatcher.run(f"bench-trivial-{uuid.uuid4().hex[:8]}-{i}", trivial.spec, {})
        job_s.append(time.perf_counter() - started)
        direct_s.append(direct_job(trivial, threads))
    return {
        "ping_roundtrip_ms": ms(ping_s),
        "trivial_job_ms": ms(job_s),
        "trivial_job_direct_ms": ms(direct_s),
        "trivial_job_added_ms": round((statistics.median(job_s) - statistics.median(direct_s)) * 1000, 3),
    }


def training_throughput(settings: Settings, runs: int) -> dict[str, Any]:
    dispatcher = Dispatcher(settings)
    shape: dict[str, Any] = {
        "epochs": 2,
        "rows": 8192,
        "batch_size": 256,
        "in_features": 64,
        "hidden": (512, 512),
    }
    out: dict[str, Any] = {"job": shape}
    for devices in (1, 2):
        job = train_job(devices=devices, **shape)
        rates, walls = [], []
        for i in range(runs):
            started = time.perf_counter()
            result = dispatcher.run(f"bench-train-{devices}-{uuid.uuid4().hex[:8]}-{i}", job.spec, job.inputs)
            walls.append(time.perf_counter() - started)
            rates.append(shape["rows"] * shape["epochs"] / result.timings["rank0.compute_s"])
        out[f"{devices}_slot"] = {
            "samples_per_s": summary(rates, digits=0),
            "job_wall_ms": ms(walls),
        }
    speedup = out["2_slot"]["samples_per_s"]["median"] / out["1_slot"]["samples_per_s"]["median"]
    out["speedup_2_vs_1"] = round(speedup, 3)
    return out


def gemm(settings: Settings, threads: int, size: int, iterations: int, runs: int) -> dict[str, Any]:
    dispatcher = Dispatcher(settings)
    job = benchmark_job(size=size, iterations=iterations)
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = a @ b
    worker, plain = [], []
    # Interleaved, so load from anything else on the machine hits both sides alike.
    for i in range(runs):
        result = dispatcher.run(f"bench-gemm-{uuid.uuid4().hex[:8]}-{i}", job.spec, {})
        worker.append(result.metrics["tflops"][0])
        started = time.perf_counter()
        for _ in range(iterations):
            torch.mm(a, b, out=out)
        plain.append(2 * size**3 * iterations / (time.perf_counter() - started) / 1e12)
    return {
        "size": size,
        "threads": threads,
        "iterations": iterations,
        "worker_tflops": summary(worker, digits=4),
        "plain_torch_tflops": summary(plain, digits=4),
        "ratio": round(statistics.median(worker) / statistics.median(plain), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slots", type=int, default=2, help="CPU device slots (ignored with GPUs)")
    args = parser.parse_args()
    run = BenchRun("execution")
    report: dict[str, Any] = {"rounds": args.rounds, "runs": args.runs}
    for broker, url in (("sqlite", "sqlite"), ("redis", args.redis)):
        with tempfile.TemporaryDirectory(prefix="neurolink-bench-") as home:
            settings = load_settings(
                home=Path(home),
                broker_url=url,
                result_backend=url,
                queue_prefix=f"bench-{uuid.uuid4().hex[:8]}",
            )
            with WorkerPool(settings, slots=args.slots) as pool:
                pool.start()
                pool.wait_ready(timeout=180)
                report["device"] = {"kind": pool.kind, "slots": pool.slots, "threads_per_slot": pool.threads}
                report[f"idle_worker_cpu_{broker}"] = idle_worker_cpu(pool)
                report[f"dispatch_{broker}"] = dispatch_overhead(settings, args.rounds, pool.threads)
                if broker == "redis":
                    report["training"] = training_throughput(settings, args.runs)
                    report["gemm"] = gemm(settings, pool.threads, 1024, 10, args.runs)
    print(json.dumps(run.save(report), indent=2))


if __name__ == "__main__":
    main()
