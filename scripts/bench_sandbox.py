"""What the job sandbox costs: zygote start, per-job start, and a trivial job end to end, with and without.

    .venv/bin/python scripts/bench_sandbox.py [--jobs 30] [--starts 5]

Everything in one run, interleaved so machine load hits both sides alike. Prints one JSON object
and writes it, with the commit, date and machine, to docs/bench/sandbox.json.
"""

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.config import Settings, load_settings
from node.worker.dispatch import Dispatcher
from node.worker.executor import Zygote, run_isolated
from node.worker.pool import WorkerPool
from node.worker.samples import benchmark_job
from node.worker.sandbox import probe

MODES = ("auto", "off")  # sandboxed, unsandboxed
TRIVIAL = benchmark_job(size=16, iterations=1)
TRIVIAL_2 = benchmark_job(size=16, iterations=1, devices=2)


def stats_ms(samples: list[float]) -> dict[str, Any]:
    return summary(samples, scale=1000)


def settings_for(home: Path, mode: str) -> Settings:
    return load_settings(
        home=home, broker_url="sqlite", result_backend="sqlite", sandbox=mode,
        queue_prefix=f"bench-{mode}-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip


def rank_job() -> dict[str, Any]:
    return {
        "job_id": "bench", "rank": 0, "world_size": 1, "spec": TRIVIAL.spec.canonical_json().decode(),
        "inputs": {}, "deadline": time.time() + 60, "rendezvous": None,
        "device": {"id": "cpu:0", "kind": "cpu", "index": 0, "threads": 1},
    }  # fmt: skip


def zygote_figures(home: Path, starts: int, jobs: int) -> dict[str, Any]:
    """Zygote start-up, and per-job start (request → reply of a trivial rank) in each mode."""
    zygotes = {m: Zygote(settings_for(home / m, m), rank_job()["device"]) for m in MODES}
    start_s: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(starts):
        for mode, z in zygotes.items():
            z.start()
            start_s[mode].append(z.start_s)
            z.stop()
    job_s: dict[str, list[float]] = {m: [] for m in MODES}
    for z in zygotes.values():
        z.start()
    for i in range(jobs):
        for mode, z in zygotes.items():
            job = {**rank_job(), "out_dir": str(home / mode / f"out-{i}")}
            started = time.perf_counter()
            reply = run_isolated(job, 60, z)
            job_s[mode].append(time.perf_counter() - started)
            assert reply["ok"] and reply["sandboxed"] == (mode == "auto"), reply
    for z in zygotes.values():
        z.stop()
    added = statistics.median(job_s["auto"]) - statistics.median(job_s["off"])
    return {
        "zygote_start_ms": {m: stats_ms(start_s[m]) for m in MODES},
        "job_start_ms": {m: stats_ms(job_s[m]) for m in MODES},
        "sandbox_added_per_job_ms": round(added * 1000, 3),
    }


def end_to_end(home: Path, jobs: int, two_rank_jobs: int) -> dict[str, Any]:
    """Trivial 1- and 2-rank jobs through Celery workers and the dispatcher, with and without the sandbox."""
    pools = {m: WorkerPool(settings_for(home / f"e2e-{m}", m), slots=2) for m in MODES}
    wall: dict[str, list[float]] = {m: [] for m in MODES}
    wall2: dict[str, list[float]] = {m: [] for m in MODES}
    try:
        for pool in pools.values():
            pool.start()
            pool.wait_ready(timeout=300)
        dispatchers = {m: Dispatcher(p.settings) for m, p in pools.items()}
        for i in range(jobs):
            for mode, dispatcher in dispatchers.items():
                started = time.perf_counter()
                result = dispatcher.run(f"bench-{mode}-{i}", TRIVIAL.spec, {})
                wall[mode].append(time.perf_counter() - started)
                assert result.sandboxed == (mode == "auto")
        for i in range(two_rank_jobs):
            for mode, dispatcher in dispatchers.items():
                started = time.perf_counter()
                result = dispatcher.run(f"bench2-{mode}-{i}", TRIVIAL_2.spec, {})
                wall2[mode].append(time.perf_counter() - started)
                assert result.sandboxed == (mode == "auto")
    finally:
        for pool in pools.values():
            pool.stop()
    return {
        "trivial_job_ms": {m: stats_ms(wall[m]) for m in MODES},
        "ratio_sandboxed_vs_not": round(statistics.median(wall["auto"]) / statistics.median(wall["off"]), 3),
        "two_rank_jobs": two_rank_jobs,
        "two_rank_trivial_job_ms": {m: stats_ms(wall2[m]) for m in MODES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--two-rank-jobs", type=int, default=5)
    args = parser.parse_args()
    run = BenchRun("sandbox")
    report: dict[str, Any] = {"sandbox": probe().as_dict(), "jobs": args.jobs, "starts": args.starts}
    with tempfile.TemporaryDirectory(prefix="neurolink-bench-sandbox-") as tmp:
        report["zygote"] = zygote_figures(Path(tmp), args.starts, args.jobs)
        report["end_to_end"] = end_to_end(Path(tmp), args.jobs, args.two_rank_jobs)
    print(json.dumps(run.save(report), indent=2))


if __name__ == "__main__":
    main()
