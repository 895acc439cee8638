"""What the cluster device registry costs, and how fast a dead worker's devices come back.

    .venv/bin/python scripts/bench_registry.py [--jobs 40] [--ops 300] [--kills 3]

- registry: one reserve + release of 2 devices, per backend (SQLite file, Redis, PostgreSQL);
- dispatch: a trivial 1-rank job end to end through a Celery worker on Redis, with the device registry
  in SQLite, Redis or PostgreSQL (interleaved, so machine load hits each alike);
- reclaim: a worker killed (SIGKILL) under a running job: seconds until the dispatcher fails the
  attempt (WorkerCrashed) with `worker_dead_after_s` = 2, and until its devices are no longer held.

Prints one JSON object and writes it, with the commit, date and machine, to docs/bench/registry.json.
"""

import argparse
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.config import Settings, load_settings
from node.worker.cluster_registry import open_registry
from node.worker.dispatch import Dispatcher
from node.worker.errors import WorkerCrashedError
from node.worker.pool import WorkerPool
from node.worker.registry import Device
from node.worker.samples import benchmark_job, train_job

REDIS = "redis://127.0.0.1:6379/9"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REGISTRIES = {"sqlite": "sqlite", "redis": REDIS, "postgresql": POSTGRES}
TRIVIAL = benchmark_job(size=16, iterations=1)


def settings_for(home: Path, registry: str, **extra: Any) -> Settings:
    return load_settings(
        home=home, broker_url=REDIS, result_backend=REDIS, device_registry=registry,
        queue_prefix=f"bench-reg-{uuid.uuid4().hex[:8]}", **extra,
    )  # fmt: skip


def registry_ops(home: Path, ops: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, url in REGISTRIES.items():
        registry = open_registry(settings_for(home / f"ops-{name}", url))
        devices = [Device(f"q.dev{i}", f"cpu:{i}", "cpu", 1, host=f"h{i % 2}") for i in range(4)]
        registry.register(devices)
        samples = []
        for i in range(ops):
            started = time.perf_counter()
            registry.reserve(f"job-{i}", 2, lease_s=60)
            registry.release(f"job-{i}")
            samples.append(time.perf_counter() - started)
        registry.deregister([d.queue for d in devices])
        registry.close()
        out[name] = summary(samples, scale=1000)
    return {"reserve_release_ms": out}


def dispatch(home: Path, jobs: int) -> dict[str, Any]:
    pools = {name: WorkerPool(settings_for(home / name, url), slots=1) for name, url in REGISTRIES.items()}
    try:
        for pool in pools.values():
            pool.start()
        for pool in pools.values():
            pool.wait_ready(timeout=120)
        dispatchers = {name: Dispatcher(pool.settings) for name, pool in pools.items()}
        samples: dict[str, list[float]] = {name: [] for name in pools}
        for i in range(jobs + 2):
            for name, d in dispatchers.items():
                started = time.perf_counter()
                result = d.run(f"bench-{name}-{i}", TRIVIAL.spec, TRIVIAL.inputs)
                if i >= 2:  # the first jobs warm the worker's zygote
                    samples[name].append(time.perf_counter() - started)
                d.cleanup(result.job_id)
    finally:
        for pool in pools.values():
            pool.stop()
    medians = {name: summary(s, scale=1000) for name, s in samples.items()}
    return {
        "trivial_job_ms": medians,
        "cluster_minus_sqlite_ms": {
            name: round(medians[name]["median"] - medians["sqlite"]["median"], 3)
            for name in ("redis", "postgresql")
        },
    }


def reclaim(home: Path, kills: int) -> dict[str, Any]:
    failed_s: list[float] = []
    freed_s: list[float] = []
    job = train_job(devices=1, rows=4096, epochs=400)
    for k in range(kills):
        settings = settings_for(home / f"reclaim-{k}", REDIS, worker_dead_after_s=2.0)
        with WorkerPool(settings, slots=1) as pool:
            pool.start()
            pool.wait_ready(timeout=120)
            dispatcher = Dispatcher(settings)
            errors: list[BaseException] = []

            def run(d: Dispatcher = dispatcher, out: list[BaseException] = errors, k: int = k) -> None:
                try:
                    d.run(f"reclaim-{k}", job.spec, job.inputs)
                except BaseException as exc:  # the failure is the measurement
                    out.append(exc)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            time.sleep(2.0)  # the rank is running
            (pid,) = [p.pid for p in pool.processes.values()]
            killed = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            thread.join(timeout=60)
            failed_s.append(time.perf_counter() - killed)
            assert errors and isinstance(errors[0], WorkerCrashedError), errors
            registry = dispatcher.registry
            while any(s.held(registry.now()) for s in registry.states()):
                time.sleep(0.01)
            freed_s.append(time.perf_counter() - killed)
    return {
        "worker_dead_after_s": 2.0,
        "attempt_failed_s": summary(failed_s),
        "devices_freed_s": summary(freed_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    run = BenchRun("registry")
    with tempfile.TemporaryDirectory(prefix="neurolink-bench-registry-") as tmp:
        home = Path(tmp)
        report = {
            "registry": registry_ops(home, args.ops),
            "dispatch": dispatch(home, args.jobs),
            "reclaim": reclaim(home, args.kills),
        }
    print(json.dumps(run.save(report), indent=2))


if __name__ == "__main__":
    main()
