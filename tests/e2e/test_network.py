"""The network end to end with a cheating provider: wallet lifecycle, cast, cancel, expiry, conservation."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, Devnet

from neurolink.compiler.build import NODE_MODULES
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.network import FIRST_PROVIDER_INDEX, KEEPER_INDEX
from neurolink.protocol.views import JobPhase

pytestmark = pytest.mark.e2e
PROVIDERS = [dev_account(FIRST_PROVIDER_INDEX + i).address for i in range(3)]
CHEATER = PROVIDERS[2]
JOB_PARAMS = (
    "(bytes32,uint256,uint8,uint8,uint256,(uint16,uint32,uint8,uint32),uint32,uint32,uint32,"
    "uint8,uint8,bytes32,uint256)"
)


def _spec(tmp_path: Path, *, replicas: int = 3, gpu_count: int = 1, seed: int = 0) -> Path:
    path = tmp_path / f"bench-{replicas}-{gpu_count}-{seed}.json"
    path.write_text(json.dumps({
        "workload": {"kind": "benchmark", "size": 64, "iterations": 2},
        "requirements": {"gpu_count": gpu_count, "max_runtime_s": 10},
        "replicas": replicas,
        "seed": seed,
    }))  # fmt: skip
    return path


def _holdings(client: Any, devnet: Devnet) -> int:
    """Every token of the network: the wallets that ever held any, both contracts, and the burned ones."""
    c = client.contracts
    wallets = [devnet.run["wallet"]["address"], client.deployment.deployer, dev_account(KEEPER_INDEX).address]
    burned = c.staking.functions.BURN_ADDRESS().call()
    places = [*wallets, *PROVIDERS, c.staking.address, c.market.address, burned]
    return sum(c.token.functions.balanceOf(a).call() for a in places)


def _wait_withdrawn(client: Any, timeout: float = 30) -> None:
    """Nodes pull their earnings themselves; wait until they have."""
    import time

    deadline = time.monotonic() + timeout
    owed = client.contracts.market.functions.claimable
    while any(owed(p).call() for p in PROVIDERS) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_wallet_lifecycle_pays_the_honest_and_slashes_the_cheater(
    cheater_devnet: Devnet, tmp_path: Path
) -> None:
    devnet, client = cheater_devnet, cheater_devnet.client()
    token, staking = client.contracts.token.functions, client.contracts.staking.functions
    requester = devnet.run["wallet"]["address"]
    held, paid_before = _holdings(client, devnet), token.balanceOf(requester).call()
    stakes = {p: staking.stakeOf(p).call() for p in PROVIDERS}
    balances = {p: token.balanceOf(p).call() for p in PROVIDERS}

    pw = ("--password-file", devnet.password_file)
    job = devnet.cli_json("job", "submit", str(_spec(tmp_path)), "--payment", "3", *pw)
    final = devnet.cli_json("job", "wait", str(job["job_id"]), "--timeout", "180", *pw)
    assert final["phase"] == "settled" and final["claimed"] == 3 and final["revealed"] == 3
    fetched = devnet.cli_json("job", "result", str(job["job_id"]), "-o", str(tmp_path / "out"))
    assert Path(fetched["path"]).stat().st_size == fetched["size"] > 0
    assert fetched["digest"] == final["result_digest"]
    metrics = json.loads(Path(fetched["metrics_path"]).read_text())
    assert metrics == fetched["metrics"] and metrics["verified"]["flop_per_rank"] == 2 * 64**3 * 2
    assert metrics["created_at"] <= metrics["settled_at"]
    assert sorted(p["address"] for p in metrics["providers"]) == sorted(final["providers"])
    floors = [p["tflops_at_least"] for p in metrics["providers"] if p["address"] != CHEATER]
    assert len(floors) == 2 and all(f > 0 for f in floors), "each honest provider's rate has a floor"

    assert token.balanceOf(requester).call() == paid_before - 3 * TOKEN, "charged exactly once"
    assert staking.stakeOf(CHEATER).call() == stakes[CHEATER] - int(job["collateral"])
    _wait_withdrawn(client)
    fee = 3 * TOKEN * client.contracts.market.functions.feeBps().call() // 10_000
    for honest in PROVIDERS[:2]:
        assert staking.stakeOf(honest).call() == stakes[honest]
        assert token.balanceOf(honest).call() >= balances[honest] + (3 * TOKEN - fee) // 2, (
            "half the reward each (the cheater's collateral is burned, nobody's bonus)"
        )
    burned = client.contracts.staking.functions.BURN_ADDRESS().call()
    assert token.balanceOf(burned).call() >= int(job["collateral"]), "the slash was burned"
    assert _holdings(client, devnet) == held, "no token created or lost"


def test_job_created_with_cast_is_settled_by_the_nodes(cheater_devnet: Devnet) -> None:
    from neurolink.content import cid_to_digest
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    devnet, client = cheater_devnet, cheater_devnet.client()
    spec = JobSpec(workload=BenchmarkWorkload(size=64, iterations=2), replicas=3, seed=5,
                   requirements=Requirements(max_runtime_s=10))  # fmt: skip
    digest = "0x" + cid_to_digest(client.store.put_bytes(spec.canonical_json())).hex()
    keystore = next(Path(devnet.run["wallet"]["keystore"]).iterdir())
    market = client.contracts.market.address
    cast = [str(NODE_MODULES / ".bin" / "cast"), "send", "--rpc-url", devnet.run["rpc_url"],
            "--keystore", str(keystore), "--password-file", devnet.password_file, "--json"]  # fmt: skip
    subprocess.run([*cast, client.contracts.token.address, "approve(address,uint256)", market, str(TOKEN)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    job_id = client.contracts.next_job_id()
    # Exact, no class named, no re-run reserve (the vote decides).
    params = f"({digest},{TOKEN},3,0,{TOKEN // 10},(1,0,0,10),120,120,120,0,0,0x{'00' * 32},0)"
    sent = subprocess.run(
        [*cast, market, f"createJob({JOB_PARAMS})", params],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["status"] in ("0x1", 1)
    final = client.wait(job_id, timeout=180)
    assert final.phase == JobPhase.SETTLED and set(final.providers) == set(PROVIDERS)


def test_cancelled_job_is_refunded_once(cheater_devnet: Devnet, tmp_path: Path) -> None:
    devnet, client = cheater_devnet, cheater_devnet.client()
    requester = devnet.run["wallet"]["address"]
    balance = client.contracts.token.functions.balanceOf(requester).call()
    pw = ("--password-file", devnet.password_file)
    # Four devices per replica: every node (one device each) skips it, so it stays unclaimed.
    job = devnet.cli_json("job", "submit", str(_spec(tmp_path, gpu_count=4)), "--payment", "2", *pw)
    cancelled = devnet.cli_json("job", "cancel", str(job["job_id"]), *pw)
    assert cancelled["refunded"] == str(2 * TOKEN)
    assert client.contracts.token.functions.balanceOf(requester).call() == balance
    again = devnet.cli("job", "cancel", str(job["job_id"]), *pw, check=False)
    assert again.returncode == 4 and "JobMarketJobClosed" in again.stderr
    assert client.status(job["job_id"]).phase == JobPhase.CANCELLED


def test_unclaimed_job_expires_through_the_keeper_and_is_refunded(
    cheater_devnet: Devnet, tmp_path: Path
) -> None:
    from neurolink.protocol.devnet import advance_time

    devnet, client = cheater_devnet, cheater_devnet.client()
    held = _holdings(client, devnet)
    spec = client.load_spec(_spec(tmp_path, gpu_count=4, seed=1))
    from coordinator.client import SubmitOptions

    job = client.submit(spec, SubmitOptions(payment=TOKEN))
    claim_deadline = client.status(job.job_id).record.claim_deadline
    # Jump the chain past the claim deadline instead of sleeping through it; the keeper does the rest.
    now = client.w3.eth.get_block("latest")["timestamp"]
    advance_time(client.w3, claim_deadline - now + 2)
    final = client.wait(job.job_id, timeout=60, settle_when_due=False)
    assert final.phase == JobPhase.EXPIRED
    keeper_log = Path(next(p for p in devnet.run["processes"] if p["role"] == "keeper")["log"]).read_text()
    assert f'"job_id": {job.job_id}, "outcome": "expired"' in keeper_log, "the keeper expired it, not us"
    assert client.withdraw() == TOKEN and client.withdraw() == 0
    assert _holdings(client, devnet) == held
