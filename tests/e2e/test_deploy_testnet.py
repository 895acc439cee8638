"""`neurolink deploy` as a user runs it: an anvil calling itself Sepolia, an encrypted keystore, then
the requester's commands with nothing but the deployments file."""

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurolink.accounts.keystore import Keystore
from neurolink.chain import deployments
from neurolink.chain.provider import connect
from neurolink.config import load_settings
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, free_port, start_anvil
from neurolink.errors import ConfigError, ExitCode

pytestmark = pytest.mark.e2e
NEUROLINK = str(Path(sys.executable).with_name("neurolink"))
SEPOLIA = 11155111
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def sepolia() -> Iterator[Anvil]:
    """An anvil that calls itself Sepolia: the deploy must treat it as a public testnet."""
    with start_anvil(chain_id=SEPOLIA) as node:
        yield node


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # dev account 0's key, encrypted: the CLI only ever sees the keystore and the password.
    Keystore(tmp_path / "keystore", scrypt_n=2**4).import_key(dev_account(0).key.hex(), PASSWORD)
    return tmp_path


def run(home: Path, *args: str, gateways: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEUROLINK_HOME": str(home),
        "NEUROLINK_PASSWORD": PASSWORD,
        "NEUROLINK_DEPLOYMENTS": str(home / "deployments"),
        "NEUROLINK_CONTENT_GATEWAYS": gateways,
    }
    return subprocess.run(
        [NEUROLINK, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_deploy_to_a_testnet_from_a_keystore_then_finds_it(sepolia: Anvil, home: Path) -> None:
    first = run(home, "deploy", "--rpc-url", sepolia.rpc_url, "--yes", "--json")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["already_deployed"] is False and out["chain_id"] == SEPOLIA and out["network"] == "sepolia"
    assert out["deployer"] == dev_account(0).address
    assert [t["label"] for t in out["estimate"]["txs"]] == [
        "deploy NeuroToken",
        "deploy Staking",
        "deploy JobMarket",
        "Staking.setJobMarket",
    ]
    path = home / "deployments" / f"{SEPOLIA}.json"
    assert Path(out["path"]) == path

    # Every other command resolves the contracts from the file alone, by name or chain id, checked live.
    w3 = connect(sepolia.rpc_url)
    settings = load_settings(home=home)
    os.environ[deployments.DEPLOYMENTS_ENV] = str(home / "deployments")
    try:
        found = deployments.for_chain(w3, settings, "sepolia")
    finally:
        del os.environ[deployments.DEPLOYMENTS_ENV]
    assert found.job_market.address == out["job_market"]["address"]
    staking = w3.eth.contract(address=found.staking.address, abi=_abi("Staking"))
    assert staking.functions.jobMarket().call() == found.job_market.address
    token = w3.eth.contract(address=found.token.address, abi=_abi("NeuroToken"))
    assert token.functions.balanceOf(dev_account(0).address).call() == 1_000_000 * 10**18
    receipt = w3.eth.get_transaction_receipt(found.setup_tx_hashes["setJobMarket"])
    assert receipt["status"] == 1 and receipt["blockNumber"] >= found.deploy_block

    again = run(home, "deploy", "--rpc-url", sepolia.rpc_url, "--yes", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_deployed"] is True
    assert json.loads(again.stdout)["job_market"] == out["job_market"], "a second run must not deploy twice"

    # The requester's commands find the contracts through the deployments file alone.
    spec = home / "bench.json"
    spec.write_text(json.dumps({"workload": {"kind": "benchmark", "size": 64}, "replicas": 3}))
    rpc = ("--rpc-url", sepolia.rpc_url, "--json")
    quoted = json.loads(_ok(run(home, "job", "quote", str(spec), *rpc)))
    assert quoted["demand_factor"] == 0 and quoted["free_providers"] == 0 and int(quoted["price"]) > 0
    # On a testnet no provider reads this machine's embedded store: the job is refused, nothing paid...
    unreachable = run(home, "job", "submit", str(spec), "--payment", "2.5", *rpc)
    assert unreachable.returncode == ExitCode.NOT_FOUND, unreachable.stderr
    assert "is only in this machine's store" in json.loads(unreachable.stdout)["error"]["message"]
    assert json.loads(_ok(run(home, "job", "list", *rpc)))["jobs"] == []
    # ...until the store is served where providers can reach it.
    with _content_served(home) as gateway:
        submitted = json.loads(
            _ok(run(home, "job", "submit", str(spec), "--payment", "2.5", *rpc, gateways=gateway))
        )
    assert submitted["payment"] == str(25 * 10**17) and submitted["replicas"] == 3
    job_id = str(submitted["job_id"])
    shown = json.loads(_ok(run(home, "job", "status", job_id, *rpc)))
    assert shown["phase"] == "claiming" and shown["requester"] == dev_account(0).address
    listed = json.loads(_ok(run(home, "job", "list", *rpc)))
    assert [j["job_id"] for j in listed["jobs"]] == [submitted["job_id"]]
    balance = token.functions.balanceOf(dev_account(0).address).call()
    cancelled = json.loads(_ok(run(home, "job", "cancel", job_id, *rpc)))
    # No provider is registered: a re-run could not fill, so no reserve was escrowed beside the payment.
    assert submitted["reserve"] == "0"
    assert cancelled["refunded"] == str(25 * 10**17)
    assert token.functions.balanceOf(dev_account(0).address).call() == balance + 25 * 10**17
    missing = run(home, "job", "status", "4242", *rpc)
    assert missing.returncode == ExitCode.NOT_FOUND and "no job 4242" in missing.stderr


@contextlib.contextmanager
def _content_served(home: Path) -> Iterator[str]:
    """`neurolink content serve` on this home's store, as a requester on a testnet runs it."""
    port = free_port()
    env = {**os.environ, "NEUROLINK_HOME": str(home)}
    server = subprocess.Popen(
        [NEUROLINK, "content", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (404 for /)
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "content serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_existing_token_is_used_not_redeployed(home: Path) -> None:
    with start_anvil(chain_id=SEPOLIA) as node:
        from neurolink.chain.tx import TxSender

        w3 = connect(node.rpc_url)
        erc20 = TxSender(w3, dev_account(1)).deploy("NeuroToken", 5 * 10**18)
        result = run(home, "deploy", "--rpc-url", node.rpc_url, "--token", erc20.address, "--yes", "--json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["token"] == {
            "name": "ERC20",
            "address": erc20.address,
            "tx_hash": None,
            "block": None,
            "artifact_sha256": None,
            "code_hash": deployments.code_hash(w3, erc20.address),
        }
        assert len(out["estimate"]["txs"]) == 3

        eoa = dev_account(2).address
        not_a_token = run(home, "deploy", "--rpc-url", node.rpc_url, "--token", eoa, "--force", "--yes")
        assert not_a_token.returncode == ExitCode.USAGE
        assert "no contract at that address" in not_a_token.stderr


def test_mainnet_is_refused_before_anything_is_sent(home: Path) -> None:
    with start_anvil(chain_id=8453) as node:
        result = run(home, "deploy", "--rpc-url", node.rpc_url, "--yes")
        assert result.returncode == ExitCode.USAGE
        assert "chain id 8453 is base mainnet" in result.stderr and "--allow-mainnet" in result.stderr
        assert connect(node.rpc_url).eth.get_transaction_count(dev_account(0).address) == 0


def test_devnet_tuning_is_refused_on_a_testnet_before_anything_is_sent(sepolia: Anvil, home: Path) -> None:
    from neurolink.chain.errors import DeploymentRefusedError
    from neurolink.deploy.deployer import DeployOptions, deploy
    from neurolink.protocol.plan import DEVNET_TUNING

    w3 = connect(sepolia.rpc_url)
    sent = w3.eth.get_transaction_count(dev_account(5).address)
    with pytest.raises(DeploymentRefusedError, match="devnet tuning refused on chain 11155111"):
        deploy(w3, dev_account(5), load_settings(home=home), DeployOptions(tuning=DEVNET_TUNING))
    assert w3.eth.get_transaction_count(dev_account(5).address) == sent


def test_without_yes_and_without_a_terminal_nothing_is_sent(home: Path) -> None:
    with start_anvil() as node:
        result = run(home, "deploy", "--rpc-url", node.rpc_url)
        assert result.returncode == ExitCode.USAGE, result.stderr
        assert "deploy NeuroToken" in result.stdout, "the estimate is shown before asking"
        assert "pass --yes" in result.stderr
        assert connect(node.rpc_url).eth.get_transaction_count(dev_account(0).address) == 0


def test_network_names_and_file_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(deployments.DEPLOYMENTS_ENV, raising=False)
    settings = load_settings(home=tmp_path)
    assert deployments.resolve_chain_id("Sepolia") == SEPOLIA
    assert deployments.resolve_chain_id("84532") == 84532
    with pytest.raises(ConfigError, match="unknown network 'moonbase'"):
        deployments.resolve_chain_id("moonbase")
    assert deployments.deployments_dir(31337, settings) == tmp_path / "deployments"
    assert deployments.deployments_dir(SEPOLIA, settings) == deployments.PROJECT_DEPLOYMENTS
    with pytest.raises(deployments.DeploymentNotFoundError, match="run `neurolink deploy` first"):
        deployments.load("devnet", settings)


def _abi(name: str) -> list[dict[str, object]]:
    from neurolink.chain.artifacts import load_artifact

    abi: list[dict[str, object]] = load_artifact(name)["abi"]
    return abi
