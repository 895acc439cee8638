"""Benchmarks the foundation: CLI start-up, contract build (cold and cached), anvil start, tx latency.

    .venv/bin/python scripts/bench_toolchain.py [--runs 10] [--cold-builds 3] [--anvil-starts 5]
                                                [--transfers 50] [--json]

Writes the raw JSON (with commit, date and machine) to docs/bench/toolchain.json.
"""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.chain.provider import connect, poll_latency
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil

CLI = Path(sys.executable).with_name("neurolink")


def timed_ms(fn: Callable[[], object], runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return summary(samples, scale=1000, digits=2)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="`--help` starts and cached builds")
    parser.add_argument("--cold-builds", type=int, default=3)
    parser.add_argument("--anvil-starts", type=int, default=5)
    parser.add_argument("--transfers", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    run = BenchRun("toolchain")
    results: dict[str, Any] = {
        "cli_help_ms": timed_ms(
            lambda: subprocess.run([str(CLI), "--help"], capture_output=True, check=True), args.runs
        ),
        "build_cold_ms": timed_ms(lambda: build(DEFAULT_SOURCES, DEFAULT_OUT, force=True), args.cold_builds),
        "build_cached_ms": timed_ms(lambda: build(DEFAULT_SOURCES, DEFAULT_OUT), args.runs),
        "anvil_ready_ms": timed_ms(lambda: start_anvil().stop(), args.anvil_starts),
    }
    with start_anvil() as anvil:
        w3 = connect(anvil.rpc_url)
        sender = TxSender(w3, dev_account(0))
        token = sender.deploy("NeuroToken", 10**24)
        to = dev_account(1).address
        results["receipt_poll_ms"] = poll_latency(w3) * 1000
        results["transfer_tx_ms"] = timed_ms(
            lambda: sender.transact(token.functions.transfer(to, 1)), args.transfers
        )
    report = run.save(results)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in results.items():
            shown = f"{value['median']:9.2f} (n={value['n']})" if isinstance(value, dict) else f"{value:9.2f}"
            print(f"{key:18} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
