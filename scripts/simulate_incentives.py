"""Expected payoff per provider strategy across a parameter grid, under the real settlement rules."""

import argparse
import json
import sys

from neurolink.protocol.incentives import Strategy, expected_payoff, grid, nash_margin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=4_000, help="simulated jobs per cell and strategy")
    parser.add_argument("--cost", type=float, default=0.5, help="compute cost per replica / (P / k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON list instead of a Markdown table")
    args = parser.parse_args()
    rows = []
    for scenario in grid(cost_ratio=args.cost):
        payoffs = {s.value: expected_payoff(scenario, s, args.jobs, args.seed) for s in Strategy}
        best = max(payoffs, key=lambda name: payoffs[name])
        rows.append(
            {
                "k": scenario.replicas,
                "q": scenario.effective_quorum,
                "C/P": scenario.collateral_ratio,
                "honest_others": scenario.honest_others,
                **payoffs,
                "best": best,
                "nash_margin": nash_margin(scenario),
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    strategies = [s.value for s in Strategy]
    print(
        f"Expected payoff per job in units of P (fee 1 %, cost per replica {args.cost} x P/k, "
        f"{args.jobs} jobs per cell, seed {args.seed}).\n"
    )
    print("| k | q | C/P | others honest | " + " | ".join(strategies) + " | best | Nash margin |")
    print("|---" * (len(strategies) + 6) + "|")
    for r in rows:
        cells = " | ".join(f"{r[s]:+.3f}" for s in strategies)
        print(
            f"| {r['k']} | {r['q']} | {r['C/P']} | {r['honest_others']:.0%} | {cells} "
            f"| {r['best']} | {r['nash_margin']:+.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
