"""`neurolink node selftest`: a benchmark, an inference and a training job through real workers."""

import time
from typing import Any

from neurolink.config import Settings
from node.worker.dispatch import Dispatcher
from node.worker.samples import SampleJob, benchmark_job, inference_job, train_job
from node.worker.sandbox import probe


def run_selftest(settings: Settings, devices: int) -> dict[str, Any]:
    """Run each sample job twice on the registered workers; report timings, hashes, reproducibility."""
    dispatcher = Dispatcher(settings)
    jobs: list[SampleJob] = [benchmark_job(), inference_job(devices=devices), train_job(devices=devices)]
    report: dict[str, Any] = {"devices": devices, "jobs": {}}
    sandboxed = True
    for job in jobs:
        runs = []
        for attempt in range(2):
            job_id = f"selftest-{job.name}-{time.time_ns()}-{attempt}"
            started = time.perf_counter()
            result = dispatcher.run(job_id, job.spec, job.inputs)
            runs.append((time.perf_counter() - started, result))
            sandboxed = sandboxed and result.sandboxed
            dispatcher.cleanup(job_id)
        (first_s, first), (second_s, second) = runs
        report["jobs"][job.name] = {
            "sha256": first.sha256,
            "reproducible": first.sha256 == second.sha256,
            "devices": list(first.devices),
            "seconds": [round(first_s, 4), round(second_s, 4)],
            "metrics": dict(first.metrics),
        }
    # What the host offers, and whether these jobs really ran in it.
    report["sandbox"] = {**probe(settings.home).as_dict(), "jobs_sandboxed": sandboxed}
    report["ok"] = all(j["reproducible"] for j in report["jobs"].values())
    return report
