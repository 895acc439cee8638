"""Gas per call and per job lifecycle (k=1 and k=3) of the JobMarket on anvil, from real receipts."""

import argparse
import hashlib
import json
import sys
from typing import Any

from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import build
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.deploy import deploy_protocol
from neurolink.protocol.devnet import advance_time, fund, register_provider
from neurolink.protocol.events import created_job_id
from neurolink.protocol.params import Capabilities, JobParams, Requirements
from neurolink.protocol.views import read_job

E18 = 10**18
TARGETS = {1: 360_000, 3: 830_000}
RESULT = hashlib.sha256(b"result").digest()


def lifecycle(
    w3: Any, p: Contracts, requester: TxSender, providers: list[TxSender], *, silent_last: bool = False
) -> list[tuple[str, int]]:
    """One job through create, claims, commits, reveals (the last settles), withdrawals; gas per call.

    With `silent_last`, the last provider commits but never reveals, so `settle` runs as its own
    call after the reveal deadline.
    """
    market = p.market
    k = len(providers)
    params = JobParams(
        spec_digest=hashlib.sha256(b"spec").digest(),
        payment=90 * E18,
        replicas=k,
        collateral=10 * E18,
        requirements=Requirements(gpu_count=1, vram_mb=16_384, tier=1, max_gpu_seconds=3_600),
    )
    gas: list[tuple[str, int]] = []
    receipt = requester.transact(market.functions.createJob(params.as_tuple()))
    gas.append(("createJob", receipt["gasUsed"]))
    job_id = created_job_id(market, receipt)
    for i, prov in enumerate(providers):
        # The devnet's sortition width draws every provider for every slot: slot i is provider i's.
        gas.append((f"claim[{i}]", prov.transact(market.functions.claim(job_id, i))["gasUsed"]))
    scope = {"chain_id": w3.eth.chain_id, "market": market.address}
    salts = {prov.address: new_salt() for prov in providers}
    if k > 1:
        for i, prov in enumerate(providers):
            c = commitment(job_id, prov.address, RESULT, salts[prov.address], **scope)
            gas.append((f"commit[{i}]", prov.transact(market.functions.commit(job_id, c))["gasUsed"]))
    revealers = providers[:-1] if silent_last else providers
    for i, prov in enumerate(revealers):
        receipt = prov.transact(market.functions.reveal(job_id, RESULT, salts[prov.address]))
        settles = i == len(providers) - 1
        gas.append((f"reveal[{i}]" + (" + settlement" if settles else ""), receipt["gasUsed"]))
    if silent_last:
        deadline = read_job(market, job_id).reveal_deadline
        advance_time(w3, deadline - w3.eth.get_block("latest")["timestamp"] + 1)
        gas.append(("settle", requester.transact(market.functions.settle(job_id))["gasUsed"]))
    for i, prov in enumerate(revealers):
        gas.append((f"withdraw[{i}]", prov.transact(market.functions.withdraw())["gasUsed"]))
    return gas


def _meta() -> dict[str, Any]:
    """Where and from what the figures come: commit, date, machine."""
    import datetime
    import os
    import platform
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout
    return {
        "commit": commit.strip(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.system()} {os.cpu_count()} cpus",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    args = parser.parse_args()
    build()
    results: dict[str, Any] = {}
    with start_anvil() as anvil:
        w3 = connect(anvil.rpc_url)
        deployer = TxSender(w3, dev_account(0))
        p = deploy_protocol(deployer, treasury=dev_account(9).address)
        requester = TxSender(w3, dev_account(1))
        fund(p, deployer, requester, 10_000 * E18)
        providers = [TxSender(w3, dev_account(i)) for i in (2, 3, 4)]
        for prov in providers:
            fund(p, deployer, prov, 1_000 * E18)
            register_provider(p, prov, Capabilities(2, 24_576, 2, 10**12), 900 * E18)
        # The first job pays one-off storage (first escrow, first claimable slots): warm up, then measure.
        results["k3_first_job_total"] = sum(g for _, g in lifecycle(w3, p, requester, providers))
        for k in (1, 3):
            calls = lifecycle(w3, p, requester, providers[:k])
            results[f"k{k}"] = {"calls": dict(calls), "total": sum(g for _, g in calls)}
        calls = lifecycle(w3, p, requester, providers, silent_last=True)
        results["k3_commit_only_last"] = {"calls": dict(calls), "total": sum(g for _, g in calls)}
    results["meta"] = _meta()
    if args.json:
        print(json.dumps(results))
        return 0
    for key in ("k1", "k3", "k3_commit_only_last"):
        print(f"\n{key}")
        for name, used in results[key]["calls"].items():
            print(f"  {name:28} {used:>9,}")
        print(f"  {'total':28} {results[key]['total']:>9,}")
    k3 = results["k3"]
    withdrawals = sum(g for name, g in k3["calls"].items() if name.startswith("withdraw"))
    batched = k3["total"] - withdrawals + withdrawals // 10
    print(f"k=3 with each provider withdrawing once per 10 jobs: {batched:,}")
    for k, target in TARGETS.items():
        total = results[f"k{k}"]["total"]
        verdict = "ok" if total <= target else "MISSED"
        print(f"k={k}: {total:,} gas per job lifecycle (target <= {target:,}: {verdict})")
    print(f"k=3 first job on a fresh deployment: {results['k3_first_job_total']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
