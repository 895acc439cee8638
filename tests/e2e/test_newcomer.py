"""The newcomer's journeys, from fresh homes, with only the commands README and OPERATIONS document.

A deployer starts a devnet on a port of its own; an operator in a home of its own (no links, no RPC
URL, no addresses configured) funds, registers, stakes and runs a node; the requester submits a job
whose input file only it holds. The operator's node must fetch spec and input and take part.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import NEUROLINK

from neurolink.devnet.anvil import free_port
from node.worker.samples import dataset_bytes

pytestmark = pytest.mark.e2e


class Home:
    """One person's machine account: a NEUROLINK_HOME and nothing else set."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
        self.env = {**clean, "NEUROLINK_HOME": str(path)}

    def cli(self, *args: str, code: int = 0, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [NEUROLINK, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == code, f"neurolink {' '.join(args)}: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.cli(*args, "--json", code=code).stdout)


def _train_spec(folder: Path) -> Path:
    (folder / "data.safetensors").write_bytes(dataset_bytes(rows=64, in_features=8, classes=4))
    spec = {
        "workload": {
            "kind": "train",
            "model": {"arch": "mlp", "in_features": 8, "hidden": [16], "out_features": 4},
            "dataset": "data",
            "epochs": 1,
            "batch_size": 16,
        },
        "inputs": {"data": "data.safetensors"},
        "requirements": {"max_runtime_s": 60},
        "replicas": 3,
    }
    path = folder / "train.json"
    path.write_text(json.dumps(spec))
    return path


def test_an_operator_in_its_own_home_takes_a_job_whose_input_only_the_requester_had(tmp_path: Path) -> None:
    deployer = Home(tmp_path / "deployer")
    port = free_port()
    # Two devnet providers and the operator: a 3-replica job needs all three (k = 2 is not allowed).
    up = deployer.json("devnet", "up", "--port", str(port), "--providers", "2")
    node = None
    try:
        assert up["rpc_url"] == f"http://127.0.0.1:{port}"
        wallet, password = up["wallet"]["address"], up["wallet"]["password_file"]
        # Later commands find the devnet on its port: no --rpc-url anywhere below.
        assert deployer.json("job", "list", "--account", wallet) == {"jobs": []}

        operator = Home(tmp_path / "operator")
        (operator.path / "pw").write_text("operator password\n")
        pw = ("--password-file", str(operator.path / "pw"))
        address = operator.json("account", "new", *pw)["address"]
        assert operator.json("account", "balance")["eth"] == "0"
        unfunded = operator.cli("node", "register", *pw, code=1)
        assert "fund it first" in unfunded.stderr and f"devnet fund {address}" in unfunded.stderr
        operator.cli("devnet", "fund", address, "--eth", "10", "--tokens", "500")
        balance = operator.json("account", "balance")
        assert balance["eth"] == str(10 * 10**18) and balance["tokens"] == str(500 * 10**18)
        operator.cli("node", "register", *pw)
        assert "staked 200 NRL" in operator.cli("node", "stake", "200", *pw).stdout
        log = open(operator.path / "node.log", "wb")  # noqa: SIM115 - closed below
        node = subprocess.Popen(
            [NEUROLINK, "node", "run", "--json-logs", *pw],
            env=operator.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while b'"node started"' not in (operator.path / "node.log").read_bytes():
            assert node.poll() is None, (operator.path / "node.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the operator's node did not start"
            time.sleep(0.5)

        requester = deployer  # the devnet's wallet lives in the deployer's home
        work = tmp_path / "work"
        work.mkdir()
        rpw = ("--password-file", password)
        job = requester.json("job", "submit", str(_train_spec(work)), "--payment", "4", *rpw)
        final = requester.json("job", "wait", str(job["job_id"]), "--timeout", "240", *rpw)
        assert final["phase"] == "settled", final
        assert address in final["providers"], "the operator's node claimed, computed and revealed"
        fetched = requester.json("job", "result", str(job["job_id"]), "-o", str(work / "out"))
        assert fetched["digest"] == final["result_digest"]
        verified = fetched["metrics"]["verified"]
        assert verified["steps"] == 64 // 16 and verified["final_loss"] == verified["epoch_loss"][-1] > 0
        shown = requester.cli("job", "result", str(job["job_id"]), "-o", str(work / "again"))
        assert f"final_loss: {verified['final_loss']}" in shown.stdout and "claim to commit" in shown.stdout
        assert any(j["job_id"] == job["job_id"] for j in requester.json("job", "list")["jobs"])
        earned = operator.json("node", "status")
        assert earned["jobs"] and earned["stake"] == 200 * 10**18
    finally:
        if node is not None:
            os.killpg(node.pid, signal.SIGTERM)
            node.wait(timeout=60)
        deployer.cli("devnet", "down")
