"""`devnet up` with the network layer: persisted state survives down/up without a second deployment;
the explorer it starts indexes the devnet's jobs, before and after a restart."""

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from neurolink.chain.provider import connect
from neurolink.config import load_settings
from neurolink.devnet import control
from neurolink.devnet.anvil import free_port, is_up
from neurolink.devnet.network import NetworkPlan


def _explorer_job(run: dict[str, Any], job_id: int, timeout: float = 30) -> dict[str, Any]:
    """The job as the devnet's explorer serves it, once it has indexed it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{run['explorer']}api/v1/jobs/{job_id}", timeout=2) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_restart_keeps_contracts_wallet_and_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coordinator.client import Client, SubmitOptions
    from neurolink.accounts.keystore import Keystore
    from neurolink.spec import BenchmarkWorkload, JobSpec

    monkeypatch.delenv("NEUROLINK_DEPLOYMENTS", raising=False)
    plan = NetworkPlan(providers=0, keeper=True)
    first = control.up(tmp_path, port=free_port(), plan=plan)
    try:
        settings = load_settings(home=tmp_path, rpc_url=first["rpc_url"])
        password = Path(first["wallet"]["password_file"]).read_text().splitlines()[0]
        account = Keystore(settings.keystore_dir).unlock(first["wallet"]["address"], password)
        client = Client(settings, account)
        job = client.submit(JobSpec(workload=BenchmarkWorkload(size=16)), SubmitOptions(payment=10**18))
        keeper = [p for p in first["processes"] if p["role"] == "keeper"]
        assert len(keeper) == 1 and control.alive(keeper[0]["pid"])
        assert _explorer_job(first, job.job_id)["payment"] == str(10**18)
        assert control.up(tmp_path, plan=plan)["already_running"] is True
    finally:
        stopped = control.down(tmp_path)
    assert keeper[0]["pid"] in stopped and first["anvil"]["pid"] in stopped
    assert not is_up(first["rpc_url"]) and not control.alive(keeper[0]["pid"])

    second = control.up(tmp_path, port=free_port(), plan=plan)
    try:
        assert second["job_market"] == first["job_market"], "the persisted chain keeps the deployment"
        w3 = connect(second["rpc_url"])
        settings = load_settings(home=tmp_path, rpc_url=second["rpc_url"])
        again = Client(settings, account, w3=w3)
        assert again.status(job.job_id).record.payment == 10**18, "and the job escrowed before the restart"
        assert _explorer_job(second, job.job_id)["state"] == "claiming", "the explorer still shows it"
        assert control.status(tmp_path)["processes"][0]["alive"] is True
    finally:
        control.down(tmp_path)
