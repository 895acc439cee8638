"""`neurolink devnet up|status|down` against a real, detached anvil."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurolink.cli.main import app
from neurolink.devnet.anvil import free_port, is_up

runner = CliRunner()


def test_up_status_down_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROLINK_HOME", str(tmp_path))
    port = free_port()
    chain_only = ["devnet", "up", "--chain-only", "--port", str(port), "--json"]
    up = json.loads(runner.invoke(app, chain_only).output)
    try:
        assert up["already_running"] is False
        again = json.loads(runner.invoke(app, chain_only).output)
        assert again["already_running"] is True, "a second `up` must not start a second anvil"
        status = runner.invoke(app, ["devnet", "status", "--json"])
        assert status.exit_code == 0
        assert json.loads(status.output)["chain_id"] == 31337
    finally:
        down = runner.invoke(app, ["devnet", "down", "--json"])
    assert json.loads(down.output)["stopped"] == [up["anvil"]["pid"]]
    assert not is_up(up["rpc_url"])
    assert (tmp_path / "devnet" / "anvil-state.json").exists(), "anvil persists its state on exit"
    assert runner.invoke(app, ["devnet", "status"]).exit_code == 6


def test_an_idle_devnet_keeps_its_clock_and_any_home_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deadlines are judged by block time: with nobody sending transactions, blocks must still come.
    And `up --port P` is found by later commands, from this home and from another one."""
    import time

    from neurolink.config import load_settings
    from neurolink.devnet.anvil import rpc_call

    monkeypatch.delenv("NEUROLINK_RPC_URL", raising=False)
    monkeypatch.setenv("NEUROLINK_HOME", str(tmp_path / "devnet-home"))
    port = free_port()
    up = json.loads(
        runner.invoke(app, ["devnet", "up", "--chain-only", "--port", str(port), "--json"]).output
    )
    try:
        first = int(rpc_call(up["rpc_url"], "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        time.sleep(3.2)
        later = int(rpc_call(up["rpc_url"], "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        assert later - first >= 2, "the chain clock stood still without traffic"
        assert load_settings().rpc_url == f"http://127.0.0.1:{port}"
        assert load_settings(home=tmp_path / "other-home").rpc_url == f"http://127.0.0.1:{port}"
        assert load_settings(home=tmp_path / "other-home", rpc_url="http://x:1").rpc_url == "http://x:1"
    finally:
        runner.invoke(app, ["devnet", "down"])
    assert load_settings(home=tmp_path / "other-home").rpc_url == "http://127.0.0.1:8545", "pointer removed"
