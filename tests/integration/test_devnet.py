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


def test_down_leaves_alone_a_pid_that_is_no_longer_what_up_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash or reboot the run file's pids may belong to other programs: `down` compares each
    pid's start time with the recorded one and signals only its own processes."""
    import subprocess
    import time

    from neurolink import devnet_record as record
    from neurolink.devnet.pids import started_at

    monkeypatch.setenv("NEUROLINK_HOME", str(tmp_path))
    port = free_port()
    up = json.loads(
        runner.invoke(app, ["devnet", "up", "--chain-only", "--port", str(port), "--json"]).output
    )
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        run_file = record.run_file(tmp_path)
        run = json.loads(run_file.read_text())
        assert run["anvil"]["started_at"] == started_at(up["anvil"]["pid"])
        # A node record whose pid now names an unrelated program (it started after the record's time).
        started = started_at(stranger.pid)
        assert started is not None
        run["processes"] = [{"role": "provider", "pid": stranger.pid, "started_at": started - 3600}]
        run_file.write_text(json.dumps(run))
        down = json.loads(runner.invoke(app, ["devnet", "down", "--json"]).output)
        time.sleep(0.2)
        assert stranger.poll() is None, "a process the devnet did not start was signalled"
        assert not is_up(up["rpc_url"]), "the devnet's own anvil was stopped"
        assert down["stopped"] == [up["anvil"]["pid"]]
    finally:
        stranger.kill()
        stranger.wait()


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
