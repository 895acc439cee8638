"""Brownie users deploy the same contracts: `make brownie`, then `brownie run` against a real anvil."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from neurolink.chain import deployments
from neurolink.chain.artifacts import contract_at, load_artifact
from neurolink.chain.provider import connect
from neurolink.compiler.build import PROJECT_ROOT
from neurolink.config import load_settings
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil

BROWNIE_VENV = PROJECT_ROOT / ".venv-brownie"
PASSWORD = "brownie-test-password"
TESTNET = 11155111


def _make_brownie() -> dict[str, str]:
    """Build (or reuse) the isolated brownie env; returns the environment brownie runs in."""
    # First run: ~1-3 min (pip + first compile); later runs: a no-op `make` and a cached compile.
    subprocess.run(["make", "-s", "brownie"], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=900)
    return {
        **os.environ,
        "HOME": str(BROWNIE_VENV / "home"),
        "SOLCX_BINARY_PATH": str(BROWNIE_VENV / "solcx"),
    }


@pytest.mark.integration
def test_brownie_run_deploys_and_neurolink_reads_the_file(tmp_path: Path) -> None:
    env = _make_brownie()
    brownie = str(BROWNIE_VENV / "bin" / "brownie")
    keystore = tmp_path / "deployer.json"
    from eth_account import Account

    keystore.write_text(json.dumps(Account.encrypt(dev_account(3).key, PASSWORD, iterations=2**4)))
    # Brownie remembers live deployments per chain id in its project's build folder and fails on
    # connect when a fresh anvil lacks them: it runs in a copy of the project, so each test starts
    # without that memory and the checkout is never written to.
    project = _brownie_project(tmp_path / "project")
    with start_anvil(chain_id=TESTNET) as node:
        net = f"nl-test-{node.port}"
        subprocess.run(
            [brownie, "networks", "add", "Ethereum", net, f"host={node.rpc_url}", f"chainid={TESTNET}"],
            cwd=project, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        try:
            run_env = {
                **env,
                "NEUROLINK_KEYSTORE": str(keystore),
                "NEUROLINK_PASSWORD": PASSWORD,
                "NEUROLINK_DEPLOYMENTS": str(tmp_path / "deployments"),
            }
            done = subprocess.run(
                [brownie, "run", "scripts/brownie_deploy.py", "--network", net],
                cwd=project, env=run_env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            assert "NeuroLink deployed on chain 11155111" in done.stdout
            again = subprocess.run(
                [brownie, "run", "scripts/brownie_deploy.py", "--network", net],
                cwd=project, env=run_env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert "already deployed on chain 11155111" in again.stdout, again.stdout + again.stderr
        finally:
            subprocess.run(
                [brownie, "networks", "delete", net],
                cwd=project,
                env=env,
                capture_output=True,
                check=False,
            )

        # neurolink's own reader validates the brownie-written file and checks the code is live.
        w3 = connect(node.rpc_url)
        os.environ[deployments.DEPLOYMENTS_ENV] = str(tmp_path / "deployments")
        try:
            found = deployments.for_chain(w3, load_settings(home=tmp_path), TESTNET)
        finally:
            del os.environ[deployments.DEPLOYMENTS_ENV]
        assert found.deployer == dev_account(3).address

        staking = contract_at(w3, "Staking", found.staking.address)
        assert staking.functions.jobMarket().call() == found.job_market.address
        market = contract_at(w3, "JobMarket", found.job_market.address)
        assert market.functions.token().call() == found.token.address
        # Brownie compiled the same code as `neurolink build`; only the metadata hash (which embeds
        # each tool's source paths and remappings) differs.
        brownie_build = json.loads((project / "build/brownie/contracts/JobMarket.json").read_text())
        ours = load_artifact("JobMarket")["bytecode"]
        assert _strip_metadata("0x" + brownie_build["bytecode"]) == _strip_metadata(ours)


def _brownie_project(folder: Path) -> Path:
    """A copy of what brownie reads from the checkout (sources, config, deploy script and the plan it
    executes) with the compile cache of `make brownie`, and node_modules linked for the OpenZeppelin
    remapping."""
    shutil.copytree(PROJECT_ROOT / "contracts", folder / "contracts")
    shutil.copy(PROJECT_ROOT / "brownie-config.yaml", folder)
    (folder / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "brownie_deploy.py", folder / "scripts")
    no_cache = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "neurolink", folder / "neurolink", ignore=no_cache)
    shutil.copytree(PROJECT_ROOT / "build/brownie/contracts", folder / "build/brownie/contracts")
    shutil.copytree(PROJECT_ROOT / "build/brownie/interfaces", folder / "build/brownie/interfaces")
    (folder / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    return folder


def _strip_metadata(bytecode: str) -> str:
    """Creation code without solc's CBOR metadata tail (its length is the last two bytes)."""
    raw = bytes.fromhex(bytecode.removeprefix("0x"))
    return raw[: -(int.from_bytes(raw[-2:], "big") + 2)].hex()
