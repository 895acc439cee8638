"""Issue 11's attacks on a devnet against real provider nodes: what each pays the attacker, costs the honest.

    .venv/bin/python scripts/attack_sim.py --json [--attack NAME ...] [--broker sqlite] [--out FILE]

Starts anvil, the contracts, one host with two CPU device workers and three honest provider daemons
(`neurolink node run --no-workers`), plays each attack of node.attacks on its own k = 3 job and prints
one JSON object: {"attacks": [{"attack", "attacker_profit", "honest_loss", "requester_loss", ...}],
"commit", "date", "machine", ...}; amounts in token wei, measured from balances, stakes and claimable
credits on chain. `--out` also writes it to a file (docs/bench/attacks.json). Exits 1 if an attack paid
the attacker, or cost an honest provider, where docs/PROTOCOL.md says it must not.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_sandbox import provenance

from neurolink.devnet.anvil import start_anvil
from node.attacks import ATTACKS, play_all
from node.localnet import TOKEN, deploy_network, make_host, start_workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the JSON object (else a table).")
    parser.add_argument("--attack", action="append", choices=ATTACKS, help="Play only these (repeatable).")
    parser.add_argument("--broker", default="sqlite", help="Celery broker and result backend URL.")
    parser.add_argument("--out", type=Path, help="Also write the JSON object to this file.")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neurolink-attacks-") as folder, start_anvil() as anvil:
        network = deploy_network(anvil)
        host = make_host(Path(folder), args.broker, slots=2)
        pool = start_workers(host)
        try:
            outcomes = play_all(network, host, args.attack)
        finally:
            pool.stop()
    report = {
        "attacks": [o.as_json() for o in outcomes],
        "units": "token wei (1e18 = 1 token)",
        "seconds": round(time.monotonic() - started, 1),
        "command": "python " + " ".join(sys.argv),
        **provenance(),
    }
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        for o in outcomes:
            amounts = (o.attacker_profit / TOKEN, o.honest_loss / TOKEN, o.requester_loss / TOKEN)
            print(
                f"{o.attack:26} profit {amounts[0]:+8.3f}  honest loss {amounts[1]:7.3f}"
                f"  requester loss {amounts[2]:7.3f}  {o.job_result:22} {o.allowed or ''}"
            )
    return 1 if any(o.pays for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
