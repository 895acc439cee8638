"""Three emulated hosts on this machine (root, `ip netns`): a 4-rank job on one host and spanning two,
one host killed mid-job; prints one JSON line. Usage: python scripts/multihost_demo.py [--json] [--redis URL]"""

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
        print(
            f"4-rank job on one host {report['one_host']['hosts']} and spanning {report['spanning']['hosts']}:"
            f" bytes equal {report['bytes_equal']}; host h2 killed mid-job, attempt failed in"
            f" {report['reclaim_s']} s, re-run on {report['after_loss']['rerun_hosts']}",
            file=sys.stderr,
        )
    print(json.dumps(report, sort_keys=True))
    return 0 if report["bytes_equal"] and report["rerun_after_host_loss"] else 1


if __name__ == "__main__":
    sys.exit(main())
