"""The operator's commands on a real chain: register (detected hardware), stake, status, unstake, withdraw."""

import json
from pathlib import Path

import pytest
from provider_bench import FAST_SCRYPT, PASSWORD, TOKEN, Network
from typer.testing import CliRunner

from neurolink.accounts.keystore import Keystore
from neurolink.chain.tx import TxSender
from neurolink.cli.main import app
from neurolink.devnet.accounts import dev_account
from neurolink.errors import ExitCode, InvalidArgumentError
from node.daemon.errors import NodeConfigError

pytestmark = pytest.mark.integration


def test_register_stake_status_unstake_withdraw(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = dev_account(9)
    Keystore(tmp_path / "keystore", scrypt_n=FAST_SCRYPT).import_key(account.key.hex(), PASSWORD)
    (tmp_path / "node.toml").write_text(
        f'job_market = "{network.market.address}"\nstaking = "{network.staking.address}"\n'
        "price_per_gpu_second = 7\n"
    )
    for name, value in {
        "NEUROLINK_HOME": str(tmp_path),
        "NEUROLINK_RPC_URL": network.rpc_url,
        "NEUROLINK_CPU_SLOTS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    TxSender(network.w3, account).transact(network.token.functions.faucet())
    runner = CliRunner()

    def node(*args: str) -> dict[str, object]:
        # Each command reads the password from the environment once and drops it, as a process would.
        result = runner.invoke(app, ["node", *args, "--json"], env={"NEUROLINK_PASSWORD": PASSWORD})
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.output)
        return data

    registered = node("register")
    assert registered["devices"] == 3 and registered["kind"] == "cpu" and not registered["updated"]
    assert list(network.staking.functions.providerOf(account.address).call()[:4]) == [
        3,
        registered["vram_mb"],
        0,
        7,
    ]
    assert node("register", "--price", "9")["updated"] is True
    assert node("stake", "40")["free"] == 40 * TOKEN
    status = node("status")
    assert status["registered"] is True and status["stake"] == 40 * TOKEN and status["locked"] == 0
    assert status["jobs"] == {} and status["earned"] == 0
    assert node("unstake", "15")["unstaking"] == 15 * TOKEN
    # The cooldown has not passed: nothing comes back yet.
    assert node("withdraw") == {"earnings": 0, "stake": 0}

    # Precision depends on the token's decimals, read from the chain after unlocking.
    bad = runner.invoke(app, ["node", "stake", "1.5e-30"], env={"NEUROLINK_PASSWORD": PASSWORD})
    assert isinstance(bad.exception, InvalidArgumentError) and "finer than 18 decimals" in str(bad.exception)
    assert bad.exception.exit_code == ExitCode.INVALID_INPUT
    wrong_fault = runner.invoke(
        app, ["node", "run", "--fault", "lazy", "--no-workers"], env={"NEUROLINK_PASSWORD": PASSWORD}
    )
    assert isinstance(wrong_fault.exception, NodeConfigError) and "fault" in str(wrong_fault.exception)
