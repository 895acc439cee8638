"""Network benchmark: submit-to-settled latency of a trivial job (k=1, k=3) and settled jobs per minute.

    .venv/bin/python scripts/bench_network.py [--runs 5] [--jobs 30]

Runs a devnet of its own (anvil mining on demand, three provider nodes with one CPU device worker each,
the keeper) in a temporary home, and prints one JSON line with medians and the throughput.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="latency samples per replica count")
    parser.add_argument("--jobs", type=int, default=30, help="jobs submitted at once for throughput")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="neurolink-bench-"))
    os.environ["NEUROLINK_HOME"] = str(home)
    os.environ.pop("NEUROLINK_DEPLOYMENTS", None)
    from coordinator.client import Client, SubmitOptions
    from neurolink.accounts.keystore import Keystore
    from neurolink.config import load_settings
    from neurolink.devnet import control
    from neurolink.devnet.anvil import free_port
    from neurolink.devnet.network import NetworkPlan
    from neurolink.protocol.views import JobPhase
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    t0 = time.monotonic()
    run = control.up(home, port=free_port(), plan=NetworkPlan(providers=3))
    startup_s = time.monotonic() - t0
    try:
        settings = load_settings(home=home, rpc_url=run["rpc_url"])
        password = Path(run["wallet"]["password_file"]).read_text().splitlines()[0]
        client = Client(settings, Keystore(settings.keystore_dir).unlock(run["wallet"]["address"], password))
        seed = iter(range(1, 10**6))

        def trivial(replicas: int) -> JobSpec:
            # A 16x16 GEMM once: the job costs nothing, so the figure is the network's own overhead.
            workload = BenchmarkWorkload(size=16, iterations=1)
            limits = Requirements(max_runtime_s=10)
            return JobSpec(workload=workload, replicas=replicas, seed=next(seed), requirements=limits)

        options = SubmitOptions(payment=10**18)

        def latency(replicas: int) -> float:
            start = time.perf_counter()
            job = client.submit(trivial(replicas), options)
            final = client.wait(job.job_id, timeout=120)
            assert final.phase == JobPhase.SETTLED, final.phase
            return time.perf_counter() - start

        latency(1)  # warm-up: first job on each worker loads torch's kernels
        latency(3)
        k1 = [latency(1) for _ in range(args.runs)]
        k3 = [latency(3) for _ in range(args.runs)]

        start = time.perf_counter()
        ids = [client.submit(trivial(1), options).job_id for _ in range(args.jobs)]
        for job_id in ids:
            assert client.wait(job_id, timeout=600).phase == JobPhase.SETTLED
        burst_s = time.perf_counter() - start
    finally:
        control.down(home)
    print(json.dumps({
        "devnet_startup_s": round(startup_s, 1),
        "k1_submit_to_settled_median_s": round(statistics.median(k1), 3),
        "k1_samples_s": [round(x, 3) for x in k1],
        "k3_submit_to_settled_median_s": round(statistics.median(k3), 3),
        "k3_samples_s": [round(x, 3) for x in k3],
        "burst_jobs": args.jobs,
        "burst_s": round(burst_s, 1),
        "settled_jobs_per_minute": round(60 * args.jobs / burst_s, 1),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
