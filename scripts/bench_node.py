"""Provider-node latency: a job from the wallet's createJob to the provider's reward in its wallet.

    .venv/bin/python scripts/bench_node.py [--broker sqlite|redis://127.0.0.1:6379/9] [--jobs 10]

Starts anvil, the contracts, one host with two CPU device workers and three provider daemons
(`neurolink node run --no-workers`), then runs `--jobs` tiny GEMM benchmark jobs with k = 1 and as
many with k = 3, one at a time; prints one JSON object with the medians and ranges and writes it (with
the commit, date and machine) to docs/bench/node-<broker kind>.json.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.devnet.anvil import start_anvil
from neurolink.protocol.views import JobPhase, read_phase
from node.daemon.config import load_node_config
from node.localnet import (
    TOKEN,
    Network,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    deploy_network,
    make_host,
    make_provider,
    start_workers,
    stop_all,
)


def _wait(predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("job did not finish in time")
        time.sleep(0.01)


def run_job(
    network: Network, providers: list[ProviderHome], host: Any, replicas: int, seed: int
) -> dict[str, float]:
    """Seconds from createJob's receipt to settlement, and to the last reward reaching a wallet."""
    token = network.token.functions
    payment = 3 * TOKEN
    # What the winners get together: the payment less the protocol fee (k-way split rounds down).
    reward = payment - payment * network.market.functions.feeBps().call() // 10_000 - replicas
    before = sum(token.balanceOf(p.address).call() for p in providers)
    started = time.perf_counter()
    job_id = create_job(
        network, benchmark_spec(replicas, seed=seed), host, payment=payment, replicas=replicas
    )
    _wait(lambda: read_phase(network.market, job_id) is JobPhase.SETTLED)
    settled = time.perf_counter() - started
    _wait(lambda: sum(token.balanceOf(p.address).call() for p in providers) - before >= reward)
    return {"settled_s": settled, "paid_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="sqlite", help="Celery broker and result backend URL.")
    parser.add_argument("--jobs", type=int, default=10, help="Jobs per replica count.")
    parser.add_argument("--slots", type=int, default=2, help="CPU device workers on the host")
    args = parser.parse_args()
    # One file per broker kind: docs/bench/node-sqlite.json, node-redis.json.
    run = BenchRun(f"node-{args.broker.split(':', 1)[0]}")
    with tempfile.TemporaryDirectory(prefix="neurolink-bench-node-") as folder, start_anvil() as anvil:
        network = deploy_network(anvil)
        host = make_host(Path(folder), args.broker, slots=args.slots)
        pool = start_workers(host)
        providers = [make_provider(network, host, index) for index in (2, 3, 4)]
        nodes = [NodeProcess(p, "--no-workers") for p in providers]
        try:
            run_job(network, providers, host, 1, seed=0)  # warm-up: first dispatch, first content reads
            config = load_node_config(host.settings(), providers[0].config)
            results: dict[str, Any] = {
                "broker": args.broker,
                "jobs": args.jobs,
                "providers": len(providers),
                "device": {"kind": pool.kind, "slots": pool.slots, "threads_per_slot": pool.threads},
                "poll_interval_s": config.poll_interval,
            }
            for replicas in (1, 3):
                runs = [
                    run_job(network, providers, host, replicas, seed=replicas * 1000 + i)
                    for i in range(args.jobs)
                ]
                results[f"k{replicas}"] = {
                    key: summary(r[key] for r in runs) for key in ("settled_s", "paid_s")
                }
        finally:
            stop_all(nodes)
            pool.stop()
    print(json.dumps(run.save(results)))


if __name__ == "__main__":
    main()
