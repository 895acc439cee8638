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
