"""Three emulated hosts on this machine (root, `ip netns`): a 4-rank job spanning two hosts, one host
killed under its next attempt, the re-run on the host left whole; prints one JSON line.

    python scripts/multihost_demo.py [--json] [--redis URL]
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from node.multihost import run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="broker, results and registry")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("multihost_demo needs root (network namespaces)", file=sys.stderr)
        return 6
    with tempfile.TemporaryDirectory(prefix="neurolink-multihost-") as tmp:
        report = run_scenario(Path(tmp), args.redis)
    if not args.json:
        spans, rerun = report["spanning"]["hosts"], report["after_loss"]["rerun_hosts"]
        print(
            f"4-rank job spanning {spans}, then on one host {rerun}: bytes equal {report['bytes_equal']};"
            f" host h2 killed mid-job, attempt failed in {report['reclaim_s']} s",
            file=sys.stderr,
        )
    print(json.dumps(report, sort_keys=True))
    return 0 if report["bytes_equal"] and report["rerun_after_host_loss"] else 1


if __name__ == "__main__":
    sys.exit(main())
