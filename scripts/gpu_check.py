"""Every GPU-specific path of a provider, end to end, in one command (logic: node/worker/gpucheck.py).

    .venv/bin/python scripts/gpu_check.py [--json] [--out] [--only CHECK,...] [--runs 3]
    .venv/bin/python scripts/gpu_check.py --device cpu [--slots 2]   # the same checks on CPU, tiny sizes

Starts one device worker per CUDA GPU and runs: the three workloads on one GPU and on all of them
(NCCL), determinism, the memory limit, a timeout kill, and GEMM throughput (float32, bfloat16,
float16 at 4096, 8192, 16384) of the benchmark workload against plain torch. Prints one JSON object
with --json (with the commit, date and machine); --out also writes it to docs/bench/gpu_check.json
(docs/bench/gpu_check-cpu.json for --device cpu). Exit codes: 0 every check passed, 1 a check
failed, 6 no CUDA device was found (unavailable).
"""

import argparse
import json
import sys
from typing import Any

CHECKS = ("workers", "workloads_1", "workloads_all", "determinism", "memory_limit", "timeout", "gemm")
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 6  # neurolink.errors.ExitCode.UNAVAILABLE


def parse(argv: list[str]) -> argparse.Namespace:
    # Parsed before anything heavy is imported, so --help answers at once.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--out", action="store_true", help="also write the report under docs/bench/")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: a dry run on CPU")
    parser.add_argument("--slots", type=int, default=2, help="CPU device slots for --device cpu")
    parser.add_argument("--runs", type=int, default=None, help="GEMM runs per dtype and size")
    parser.add_argument(
        "--only", default=",".join(CHECKS), help=f"comma-separated checks to run (of {', '.join(CHECKS)})"
    )
    args = parser.parse_args(argv)
    if args.slots < 1 or (args.runs is not None and args.runs < 1):
        parser.error("--slots and --runs must be at least 1")
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        parser.error(f"unknown check {unknown[0]!r}; checks are {', '.join(CHECKS)}")
    args.only = only
    return args


def human(report: dict[str, Any]) -> str:
    device = report["device"]
    lines = [f"{device['count']} {device['kind']} device(s): {', '.join(device['names'])}"]
    for name, result in report["checks"].items():
        state = "skipped" if result.get("skipped") else "ok" if result["ok"] else "FAILED"
        why = result.get("error") or result.get("skipped") or ""
        lines.append(f"{name:14} {state:8} {result['seconds']:7.1f} s  {why}".rstrip())
    for row in report["checks"].get("gemm", {}).get("results", []):
        lines.append(
            f"  gemm {row['dtype']:8} {row['size']:5}: worker {row['worker_tflops']['median']} TFLOP/s,"
            f" plain torch {row['plain_torch_tflops']['median']} TFLOP/s, ratio {row['ratio']}"
        )
    lines.append(f"status: {report['status']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse(argv)
    from neurolink.bench import BenchRun
    from node.worker import gpucheck
    from node.worker.errors import DevicesUnavailableError

    bench = BenchRun("gpu_check" if args.device == "cuda" else "gpu_check-cpu")
    if args.device == "cuda":
        try:
            gpus = len(gpucheck.cuda_devices())
        except DevicesUnavailableError as exc:
            if args.json:
                print(json.dumps({**bench.provenance(), "status": "unavailable", "error": str(exc)}))
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        plan = gpucheck.Plan.cuda(gpus, **({"runs": args.runs} if args.runs is not None else {}))
    else:
        plan = gpucheck.Plan.cpu(args.slots, **({"runs": args.runs} if args.runs is not None else {}))
    report = gpucheck.run(plan, args.only)
    full = bench.save(report) if args.out else {**bench.provenance(), **report}
    print(json.dumps(full, indent=2) if args.json else human(report))
    if args.out:
        print(f"written to {bench.path}", file=sys.stderr)
    return EXIT_FAILED if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
