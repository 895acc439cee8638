"""Bad input to the network's commands is refused with a specific message before anything runs."""

import pytest
from typer.testing import CliRunner

from neurolink.chain.deployments import ContractRecord, Deployment, check_not_mainnet
from neurolink.chain.errors import DeploymentRefusedError
from neurolink.cli.main import app
from neurolink.devnet.network import NetworkPlan
from neurolink.errors import DevnetError, ExitCode

runner = CliRunner()
ADDRESS = "0x" + "11" * 20


def _record(name: str, address: str = ADDRESS) -> ContractRecord:
    return ContractRecord(name=name, address=address, code_hash="0x" + "22" * 32)


def test_mainnets_need_allow_mainnet() -> None:
    for chain_id in (1, 10, 56, 137, 8453, 42161):
        with pytest.raises(DeploymentRefusedError, match="--allow-mainnet"):
            check_not_mainnet(chain_id, allow_mainnet=False)
        check_not_mainnet(chain_id, allow_mainnet=True)
    check_not_mainnet(11155111, allow_mainnet=False)


def test_deployment_flat_map_follows_the_records_and_rejects_disagreement() -> None:
    fields = {"chain_id": 5, "network": "x", "deployer": ADDRESS, "deploy_block": 1, "deployed_at": 0}
    fields |= {
        "token": _record("NeuroToken"),
        "staking": _record("Staking"),
        "job_market": _record("JobMarket"),
    }
    assert Deployment(**fields).contracts["JobMarket"] == ADDRESS
    with pytest.raises(ValueError, match="disagree"):
        Deployment(
            **fields, contracts={"NeuroToken": ADDRESS, "Staking": ADDRESS, "JobMarket": "0x" + "33" * 20}
        )


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"providers": 8}, "0..7 providers"),
        ({"providers": 2, "faults": {2: "silent"}}, "index must be < 2"),
        ({"providers": 3, "faults": {0: "lazy"}}, "kind one of"),
    ],
)
def test_devnet_plan_is_checked(plan: dict[str, object], message: str) -> None:
    with pytest.raises(DevnetError, match=message):
        NetworkPlan(**plan)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["devnet", "up", "--fault", "two=silent"], "--fault takes INDEX=KIND"),
        (["job", "submit", "README.md", "--input", "nopath"], "--input takes NAME=PATH"),
        (["job", "submit", "README.md", "--payment", "1e-30"], "finer than 18 decimals"),
        (["job", "submit", "README.md", "--payment", "lots"], "not an amount: 'lots'"),
    ],
)
def test_cli_argument_errors_are_named(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("NEUROLINK_HOME", str(tmp_path))
    monkeypatch.setenv("NEUROLINK_RPC_URL", "http://127.0.0.1:9")  # nothing listens: no chain is touched
    result = runner.invoke(app, args)
    assert message in str(result.exception)
    assert getattr(result.exception, "exit_code", None) == ExitCode.INVALID_INPUT
