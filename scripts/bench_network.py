"""Network benchmark: submit-to-settled latency of a trivial job (k=1, k=3) and settled jobs per minute.

    .venv/bin/python scripts/bench_network.py [--runs 5] [--jobs 30] [--providers 3] [--broker URL]

Runs a devnet of its own (anvil, provider nodes with their CPU device workers, the keeper) in a
temporary home, prints one JSON line with the figures and the devnet's configuration, and writes it
(with the commit, date and machine) to docs/bench/network.json. Each latency sample also says when
the requester saw the job claimed, committed and revealed, and, from the nodes' JSON logs, when the
k-th node (k = the job's replicas) queued, claimed, started computing, finished, committed and revealed it:
where the time goes.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from neurolink.bench import BenchRun, summary

# Node log messages marking a job's way through a provider, in order (node/daemon/daemon.py).
STEPS = {
    "job queued": "queued",
    "claim sent": "claim_sent",
    "computing": "computing",
    "computed": "computed",
    "commit sent": "commit_sent",
    "reveal sent": "reveal_sent",
}


def node_steps(logs: list[Path], job_id: int, replicas: int, submitted_at: float) -> dict[str, float]:
    """Seconds from submission until the first node queued job `job_id`, and until the `replicas`-th
    node took each later step (its last attempt at it: a claim that lost a race is sent again)."""
    times: dict[str, list[float]] = {}
    for log in logs:
        last: dict[str, float] = {}
        for line in log.read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            step = STEPS.get(entry.get("msg", ""))
            if step is not None and entry.get("job_id") == job_id:
                last[step] = float(entry["ts"]) - submitted_at
        for step, at in last.items():
            times.setdefault(step, []).append(at)
    out = {}
    for step, seen in times.items():
        nth = 1 if step == "queued" else replicas
        if len(seen) >= nth:
            out[f"node_{step}"] = round(sorted(seen)[nth - 1], 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="latency samples per replica count")
    parser.add_argument("--jobs", type=int, default=30, help="jobs submitted at once for throughput")
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--broker", default="sqlite", help="the nodes' Celery broker (default: embedded)")
    args = parser.parse_args()
    # The default (embedded) broker's figures are docs/bench/network.json; another's, network-redis.json.
    run = BenchRun("network" if args.broker == "sqlite" else f"network-{args.broker.split(':', 1)[0]}")

    home = Path(tempfile.mkdtemp(prefix="neurolink-bench-network-"))
    os.environ["NEUROLINK_HOME"] = str(home)
    os.environ.pop("NEUROLINK_DEPLOYMENTS", None)
    from coordinator.client import Client, JobState, SubmitOptions
    from neurolink.accounts.keystore import Keystore
    from neurolink.config import load_settings
    from neurolink.devnet import control
    from neurolink.devnet.anvil import free_port
    from neurolink.devnet.network import NODE_CPU_SLOTS, NetworkPlan
    from neurolink.protocol.views import JobPhase
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements
    from node.daemon.config import load_node_config

    plan = NetworkPlan(providers=args.providers, broker=args.broker)
    t0 = time.monotonic()
    devnet = control.up(home, port=free_port(), plan=plan)
    startup_s = time.monotonic() - t0
    try:
        settings = load_settings(home=home, rpc_url=devnet["rpc_url"])
        password = Path(devnet["wallet"]["password_file"]).read_text().splitlines()[0]
        client = Client(
            settings, Keystore(settings.keystore_dir).unlock(devnet["wallet"]["address"], password)
        )
        node_home = Path(next(p["home"] for p in devnet["processes"] if p["role"] == "provider"))
        node_settings = load_settings(home=node_home)
        node_config = load_node_config(node_settings)
        seed = iter(range(1, 10**6))
        workload = BenchmarkWorkload(size=16, iterations=1)

        def trivial(replicas: int) -> JobSpec:
            # A tiny GEMM: the job costs nothing, so the figure is the network's own overhead.
            limits = Requirements(max_runtime_s=10)
            return JobSpec(workload=workload, replicas=replicas, seed=next(seed), requirements=limits)

        options = SubmitOptions(payment=10**18)

        def latency(replicas: int) -> dict[str, float]:
            """Seconds from submit to settled, and when the requester saw each step on the way."""
            seen: dict[str, float] = {"job_id": 0, "submitted_at": time.time()}
            start = time.perf_counter()

            def on_change(state: JobState) -> None:
                at = round(time.perf_counter() - start, 3)
                r = state.record
                for name, done in (
                    ("claimed", r.claimed),
                    ("committed", r.committed),
                    ("revealed", r.revealed),
                ):
                    if done >= replicas and name not in seen:
                        seen[name] = at

            job = client.submit(trivial(replicas), options)
            seen["created"] = round(time.perf_counter() - start, 3)
            seen["job_id"] = job.job_id
            final = client.wait(job.job_id, timeout=120, on_change=on_change)
            if final.phase != JobPhase.SETTLED:
                raise SystemExit(f"job {job.job_id} ended {final.phase.name}, not settled")
            return {"total": time.perf_counter() - start, **seen}

        latency(1)  # warm-up: the first job on each worker loads torch's kernels
        latency(3)
        k1 = [latency(1) for _ in range(args.runs)]
        k3 = [latency(3) for _ in range(args.runs)]
        logs = [Path(p["log"]) for p in devnet["processes"] if p["role"] == "provider"]
        for replicas, runs in ((1, k1), (3, k3)):
            for r in runs:
                r.update(node_steps(logs, int(r["job_id"]), replicas, r.pop("submitted_at")))

        start = time.perf_counter()
        ids = [client.submit(trivial(1), options).job_id for _ in range(args.jobs)]
        submitted_s = time.perf_counter() - start
        # A job no node claimed in its window expires: counted, not settled (the keeper closes it).
        ended = [client.wait(job_id, timeout=600).phase for job_id in ids]
        burst_s = time.perf_counter() - start
        unsettled = Counter(p.name.lower() for p in ended if p != JobPhase.SETTLED)
    finally:
        control.down(home)
        shutil.rmtree(home, ignore_errors=True)

    def samples(runs: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{k: round(v, 3) for k, v in r.items()} for r in runs]

    def stages(runs: list[dict[str, float]]) -> dict[str, float]:
        """Median seconds since submission at each step seen in every sample."""
        keys = [k for k in runs[0] if k != "job_id" and all(k in r for r in runs)]
        return {k: summary(r[k] for r in runs)["median"] for k in sorted(keys, key=lambda k: runs[0][k])}

    report = run.save({
        "devnet": {
            "providers": plan.providers,
            "cpu_slots_per_node": NODE_CPU_SLOTS,
            "broker": plan.broker,
            "node_poll_interval_s": node_config.poll_interval,
            "keeper_interval_s": plan.keeper_interval,
            "anvil_block_time_s": devnet["anvil"]["block_time"],
            "job": {"workload": workload.model_dump(mode="json"), "replicas": [1, 3]},
        },
        "devnet_startup_s": round(startup_s, 1),
        "k1_submit_to_settled_s": summary(r["total"] for r in k1),
        "k1_stage_medians_s": stages(k1),
        "k1_samples": samples(k1),
        "k3_submit_to_settled_s": summary(r["total"] for r in k3),
        "k3_stage_medians_s": stages(k3),
        "k3_samples": samples(k3),
        "burst_jobs": args.jobs,
        "burst_submitted_s": round(submitted_s, 2),
        "burst_s": round(burst_s, 2),
        "burst_not_settled": dict(unsettled),
        "settled_jobs_per_minute": round(60 * (args.jobs - sum(unsettled.values())) / burst_s, 1),
    })  # fmt: skip
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
