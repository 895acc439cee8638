"""Benchmarks the foundation: CLI start-up, contract build (cold and cached), anvil start, tx latency."""

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil

CLI = Path(sys.executable).with_name("neurolink")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results = {
        "cli_help_ms": median_ms(
            lambda: subprocess.run([str(CLI), "--help"], capture_output=True, check=True), args.runs
        ),
        "build_cold_ms": median_ms(lambda: build(DEFAULT_SOURCES, DEFAULT_OUT, force=True), 3),
        "build_cached_ms": median_ms(lambda: build(DEFAULT_SOURCES, DEFAULT_OUT), args.runs),
        "anvil_ready_ms": median_ms(lambda: start_anvil().stop(), 5),
    }
    with start_anvil() as anvil:
        w3 = connect(anvil.rpc_url)
        sender = TxSender(w3, dev_account(0))
        token = sender.deploy("NeuroToken", 10**24)
        to = dev_account(1).address
        results["transfer_tx_ms"] = median_ms(
            lambda: sender.transact(token.functions.transfer(to, 1)), args.runs * 5
        )
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:18} {value:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
