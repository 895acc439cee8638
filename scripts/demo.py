"""`make demo`: the whole network on this machine, one wallet, one cheating provider.

Brings a devnet up (anvil, contracts, three provider nodes with Celery workers, the keeper), submits
an inference job and a training job with k=3 from the requester's wallet while provider 2 returns
wrong results (`--fault noise`: 1 % noise on every output, as a sloppier or cheaper computation would
give), waits for settlement, fetches and verifies both results, shows who was paid and who
was slashed, and brings the devnet down. The explorer's URL is printed as soon as the devnet is up:
its dashboard follows the jobs live and stays readable until the devnet goes down (`--hold` waits for
Enter before that). Ends with one JSON line.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from neurolink.protocol.contracts import Contracts

CHEATER = 2
console = Console(stderr=True, width=110)


def _inputs(folder: Path) -> dict[str, Path]:
    """A .pt2 program, its input batch and a training set, written as files like a user has them."""
    from node.worker import samples

    files = {
        "model.pt2": samples.program_bytes(),
        "batch.safetensors": samples.tensors_bytes(64),
        "data.safetensors": samples.dataset_bytes(256),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def _specs(folder: Path) -> dict[str, Path]:
    inference = {
        "workload": {"kind": "inference", "program": "model", "inputs": "batch", "batch_size": 16},
        "inputs": {"model": "model.pt2", "batch": "batch.safetensors"},
        "requirements": {"gpu_count": 1, "max_runtime_s": 120},
        "replicas": 3,
    }
    train = {
        "workload": {
            "kind": "train",
            "model": {"arch": "mlp", "in_features": 8, "hidden": [32], "out_features": 4},
            "dataset": "data",
            "learning_rate": 0.1,
            "momentum": 0.9,
            "epochs": 3,
            "batch_size": 32,
        },
        "inputs": {"data": "data.safetensors"},
        "requirements": {"gpu_count": 1, "max_runtime_s": 300},
        "replicas": 3,
        "seed": 7,
    }
    specs = {"inference": folder / "inference.json", "train": folder / "train.json"}
    specs["inference"].write_text(json.dumps(inference, indent=1))
    specs["train"].write_text(json.dumps(train, indent=1))
    return specs


def _ledger(contracts: "Contracts", accounts: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per account: wallet balance, stake and what JobMarket owes it."""
    token, staking, market = (getattr(contracts, n).functions for n in ("token", "staking", "market"))
    return {
        name: {
            "balance": token.balanceOf(address).call(),
            "stake": staking.stakeOf(address).call(),
            "claimable": market.claimable(address).call(),
        }
        for name, address in accounts.items()
    }


def _holdings(contracts: "Contracts", accounts: dict[str, str]) -> int:
    """Every token the network knows of: wallets, the two contracts (stakes, escrow, claimable) and the
    burn address (slashed collateral is burned, nobody's income)."""
    token = contracts.token.functions
    burned = contracts.staking.functions.BURN_ADDRESS().call()
    places = [*accounts.values(), contracts.staking.address, contracts.market.address, burned]
    return sum(token.balanceOf(a).call() for a in places)


def main() -> int:
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="neurolink-demo-"))
    os.environ["NEUROLINK_HOME"] = str(home)
    os.environ.pop("NEUROLINK_DEPLOYMENTS", None)
    from coordinator.client import Client
    from neurolink.accounts.keystore import Keystore
    from neurolink.config import load_settings
    from neurolink.devnet import control
    from neurolink.devnet.accounts import dev_account
    from neurolink.devnet.anvil import free_port
    from neurolink.devnet.network import FIRST_PROVIDER_INDEX, KEEPER_INDEX, NetworkPlan

    explorer = ""
    try:
        with console.status("devnet up: anvil, contracts, wallet, 3 provider nodes with workers, keeper"):
            plan = NetworkPlan(providers=3, faults={CHEATER: "noise"})
            run = control.up(home, port=free_port(), plan=plan)
        console.print(f"devnet up in {time.monotonic() - started:.0f}s at {run['rpc_url']}; "
                      f"provider {CHEATER} will cheat (--fault noise)")  # fmt: skip
        explorer = run.get("explorer", "")
        console.print(f"explorer: {explorer} (live dashboard and API; up until the devnet goes down)")
        settings = load_settings(home=home, rpc_url=run["rpc_url"])
        wallet = run["wallet"]
        password = Path(wallet["password_file"]).read_text().splitlines()[0]
        account = Keystore(settings.keystore_dir).unlock(wallet["address"], password)
        client = Client(settings, account)
        accounts = {"requester": wallet["address"], "treasury": client.deployment.deployer,
                    "keeper": dev_account(KEEPER_INDEX).address}  # fmt: skip
        accounts |= {f"provider {i}": dev_account(FIRST_PROVIDER_INDEX + i).address for i in range(3)}
        before = _ledger(client.contracts, accounts)
        held_before = _holdings(client.contracts, accounts)

        work = home / "work"
        work.mkdir()
        _inputs(work)
        jobs = {}
        for name, spec_file in _specs(work).items():
            spec = client.load_spec(spec_file)
            q = client.quote(spec)
            job = client.submit(spec)
            jobs[name] = job
            factors = (
                f"demand x{1 + float(q.demand_factor):.2f}, "
                f"capability x{1 + float(q.capability_factor):.2f}, "
                f"seasonal x{float(q.seasonal_adjustment):.2f}"
            )
            console.print(
                f"submitted {name} job {job.job_id}: {job.payment / 1e18:.4f} NRL ({factors}), k=3, "
                f"collateral {job.collateral / 1e18:.4f} NRL per slot"
            )
        results = {}
        for name, job in jobs.items():
            with console.status(f"waiting for {name} job {job.job_id}") as status:
                final = client.wait(
                    job.job_id,
                    timeout=240,
                    on_change=lambda s: status.update(f"job {s.job_id}: {s.phase.name.lower()}"),
                )
            fetched = client.result(job.job_id, home / "results")
            results[name] = (final, fetched)
            console.print(
                f"{name} job {job.job_id} {final.phase.name.lower()}: result {fetched.cid} "
                f"({fetched.size} bytes) fetched and verified against its on-chain digest; "
                f"its page: {explorer}#/job/{job.job_id}"
            )

        # Nodes withdraw their earnings themselves; give them a moment to do so before the books close.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
            client.contracts.market.functions.claimable(a).call()
            for n, a in accounts.items()
            if n.startswith("provider")
        ):
            time.sleep(0.2)
        after = _ledger(client.contracts, accounts)
        held_after = _holdings(client.contracts, accounts)

        table = Table(title="balances before → after (NRL)")
        for column in ("account", "wallet", "stake", "owed by JobMarket", "outcome"):
            table.add_column(column)
        slashed = []
        for name in accounts:
            b, a = before[name], after[name]
            outcome = ""
            if a["stake"] < b["stake"]:
                outcome = f"slashed {(b['stake'] - a['stake']) / 1e18:.4f}"
                slashed.append(name)
            elif a["balance"] + a["claimable"] > b["balance"] + b["claimable"]:
                outcome = f"paid {(a['balance'] + a['claimable'] - b['balance'] - b['claimable']) / 1e18:.4f}"
            elif a["balance"] < b["balance"]:
                outcome = f"spent {(b['balance'] - a['balance']) / 1e18:.4f}"
            table.add_row(
                name,
                f"{b['balance'] / 1e18:.4f} → {a['balance'] / 1e18:.4f}",
                f"{b['stake'] / 1e18:.1f} → {a['stake'] / 1e18:.1f}",
                f"{a['claimable'] / 1e18:.4f}",
                outcome,
            )
        console.print(table)
        settled = sum(1 for final, _ in results.values() if final.phase.name == "SETTLED")
        conserved = held_before == held_after
        console.print(f"done in {time.monotonic() - started:.0f}s")
        if "--hold" in sys.argv[1:]:
            input(f"the explorer stays at {explorer}; press Enter to bring the devnet down ")
    finally:
        control.down(home)
    ok = settled == len(jobs) and slashed == [f"provider {CHEATER}"] and conserved
    print(json.dumps({"demo": "ok" if ok else "failed", "jobs_settled": settled,
                      "providers_slashed": len(slashed), "tokens_conserved": conserved,
                      "explorer": explorer}))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
