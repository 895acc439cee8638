"""Benchmarks the foundation: CLI start-up, contract build (cold and cached), anvil start, tx latency.

    .venv/bin/python scripts/bench_toolchain.py [--runs 10] [--cold-builds 3] [--anvil-starts 5]
                                                [--transfers 50] [--forge] [--json]

With --forge, also a clean `forge build` of contracts and tests and the CI profile's `forge test`
(what `make test` runs; minutes). Writes the raw JSON (with commit, date and machine) to
docs/bench/toolchain.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.chain.provider import connect, poll_latency
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, NODE_MODULES, build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil

CLI = Path(sys.executable).with_name("neurolink")
FORGE = NODE_MODULES / ".bin" / "forge"


def timed_ms(fn: Callable[[], object], runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return summary(samples, scale=1000, digits=2)


def forge(root: Path) -> dict[str, Any]:
    """A clean forge build (contracts and tests), then the CI profile's test run: wall seconds, tests."""
    started = time.perf_counter()
    subprocess.run([str(FORGE), "build", "--force"], cwd=root, check=True, capture_output=True)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(
        [str(FORGE), "test", "--json"],
        cwd=root,
        env={**os.environ, "FOUNDRY_PROFILE": "ci"},
        check=True,
        capture_output=True,
        text=True,
    )
    test_s = time.perf_counter() - started
    suites = json.loads(done.stdout)
    results = [r for suite in suites.values() for r in suite["test_results"].values()]
    return {
        "clean_build_s": round(build_s, 1),
        "ci_test_s": round(test_s, 1),
        "tests": len(results),
        "passed": sum(1 for r in results if r.get("status") == "Success"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="`--help` starts and cached builds")
    parser.add_argument("--cold-builds", type=int, default=3)
    parser.add_argument("--anvil-starts", type=int, default=5)
    parser.add_argument("--transfers", type=int, default=50)
    parser.add_argument("--forge", action="store_true", help="also time forge's build and CI tests")
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
    if args.forge:
        results["forge"] = forge(run.root)
    report = run.save(results)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in results.items():
            timed = isinstance(value, dict) and "median" in value
            shown = f"{value['median']:9.2f} (n={value['n']})" if timed else json.dumps(value)
            print(f"{key:18} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
