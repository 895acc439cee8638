"""Jobs across hosts on one machine (root): the multihost scenario of node.multihost, timed.

    .venv/bin/python scripts/bench_multihost.py [--runs 1]

Per run: cluster start (3 namespace hosts, 8 workers), a 4-rank training job spanning two hosts vs the
same job on one host (the re-run after the host loss), and the seconds from killing a host under a job
to the attempt failing (its devices freed). Writes docs/bench/multihost.json.
"""

import argparse
import json
import tempfile
from pathlib import Path

from neurolink.bench import BenchRun, summary
from node.multihost import run_scenario

REDIS = "redis://127.0.0.1:6379/9"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    run = BenchRun("multihost")
    reports = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="neurolink-bench-multihost-") as tmp:
            reports.append(run_scenario(Path(tmp), REDIS))
    result = {
        "runs": reports,
        "startup_s": summary(r["startup_s"] for r in reports),
        "spanning_two_hosts_s": summary(r["spanning"]["seconds"] for r in reports),
        "one_host_s": summary(r["one_host"]["seconds"] for r in reports),
        "reclaim_s": summary(r["reclaim_s"] for r in reports),
        "bytes_equal": all(r["bytes_equal"] for r in reports),
    }
    print(json.dumps(run.save(result), indent=2))


if __name__ == "__main__":
    main()
