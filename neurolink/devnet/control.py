"""The detached devnet of `neurolink devnet up|down|status`: processes recorded in a run file."""

import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink import devnet_record as record
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import DEVNET_CHAIN_ID, is_up, rpc_call, start_anvil
from neurolink.devnet.pids import alive, same_process, started_at
from neurolink.errors import DevnetError

if TYPE_CHECKING:
    from neurolink.devnet.network import NetworkPlan

DEFAULT_BLOCK_TIME = 1.0


def devnet_dir(home: Path) -> Path:
    return home / "devnet"


def read_run(home: Path) -> dict[str, Any] | None:
    path = record.run_file(home)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def up(
    home: Path,
    *,
    port: int = 8545,
    chain_id: int = DEVNET_CHAIN_ID,
    plan: "NetworkPlan | None" = None,
    block_time: float | None = DEFAULT_BLOCK_TIME,
) -> dict[str, Any]:
    """Start anvil detached with persisted state; with a `plan`, also deploy, fund wallets and start
    the provider nodes and the keeper. A running devnet is reported, not doubled.

    `block_time` seconds between empty blocks keeps the chain clock (which every deadline is judged
    by) moving while nobody sends a transaction; None mines only on transactions.
    """
    run = read_run(home)
    if run and alive(run["anvil"]["pid"]) and is_up(run["rpc_url"]):
        return {**run, "already_running": True}
    folder = devnet_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    anvil = start_anvil(
        port=port,
        chain_id=chain_id,
        state_file=folder / "anvil-state.json",
        log_file=folder / "anvil.log",
        detach=True,
        block_time=block_time,
    )
    assert anvil.process is not None
    run = {
        "rpc_url": anvil.rpc_url,
        "chain_id": chain_id,
        "anvil": {
            "pid": anvil.process.pid,
            "port": anvil.port,
            "block_time": block_time,
            "started_at": started_at(anvil.process.pid),
        },
        "processes": [],
        "started_at": int(time.time()),
    }
    _write_run(home, run)  # from here on, `down` can stop what runs, whatever fails next
    if plan is not None:
        try:
            run.update(_start_network(home, run, plan))
        except BaseException:
            down(home)
            raise
    return {**run, "already_running": False}


def _write_run(home: Path, run: dict[str, Any]) -> None:
    record.run_file(home).write_text(json.dumps(run, indent=1))
    record.publish(home)


def _start_network(home: Path, run: dict[str, Any], plan: "NetworkPlan") -> dict[str, Any]:
    from neurolink.chain.deployments import deployment_path
    from neurolink.chain.provider import connect
    from neurolink.config import load_settings
    from neurolink.devnet import network
    from neurolink.devnet.bootstrap import deploy_devnet, fund
    from neurolink.protocol.contracts import Contracts

    if run["chain_id"] != DEVNET_CHAIN_ID:
        raise DevnetError(f"the network needs chain id {DEVNET_CHAIN_ID}, where the token's faucet works")
    settings = load_settings(home=home, rpc_url=run["rpc_url"])
    w3 = connect(run["rpc_url"])
    deployment = deploy_devnet(w3, settings)
    contracts = Contracts.bind(w3, deployment)
    folder = devnet_dir(home)
    password = network.password_file(folder)
    wallet = network.import_dev_key(settings.keystore_dir, network.REQUESTER_INDEX, password)
    if contracts.token.functions.balanceOf(wallet).call() == 0:
        fund(contracts, dev_account(network.REQUESTER_INDEX))
    network.register_providers(contracts, plan)
    extra: dict[str, Any] = {
        "deployment": str(deployment_path(run["chain_id"], settings)),
        "job_market": deployment.job_market.address,
        "wallet": {"address": wallet, "keystore": str(settings.keystore_dir), "password_file": str(password)},
        "processes": network.start_processes(folder, settings, run["rpc_url"], deployment, plan),
    }
    extra["content_gateway"] = next(p["url"] for p in extra["processes"] if p["role"] == "content")
    for process in extra["processes"]:
        if process["role"] == "explorer":
            extra["explorer"] = process["url"]
    _write_run(home, {**run, **extra})
    network.wait_ready(extra["processes"])
    return extra


def _signal(pid: int, sig: signal.Signals) -> None:
    # Processes the devnet starts lead their own session: signal the group, so a node's workers go too.
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _terminate(pids: list[int], timeout: float = 20.0) -> None:
    """SIGTERM to all at once, wait up to `timeout` in all, SIGKILL whoever is left."""
    live = [pid for pid in pids if alive(pid)]
    for pid in live:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while live and time.monotonic() < deadline:
        live = [pid for pid in live if alive(pid)]  # alive() reaps our own children
        time.sleep(0.05)
    for pid in live:
        _signal(pid, signal.SIGKILL)


def down(home: Path) -> list[int]:
    """Stop every process the devnet started: nodes (with their workers) and keeper, then anvil.

    Only pids whose start time still matches the run file are signalled: one the kernel has since given
    to another program is left alone (and not returned)."""
    run = read_run(home)
    if run is None:
        return []
    children = [p["pid"] for p in run.get("processes", []) if same_process(p)]
    _terminate(children)
    # Anvil last, so nodes finishing a transaction on their way out still reach it.
    anvil = [run["anvil"]["pid"]] if same_process(run["anvil"]) else []
    _terminate(anvil)
    record.run_file(home).unlink()
    record.withdraw(home)
    return [*children, *anvil]


def status(home: Path) -> dict[str, Any]:
    run = read_run(home)
    if run is None:
        return {"running": False}
    url = run["rpc_url"]
    if not is_up(url):
        return {"running": False, "rpc_url": url, "stale_run_file": True}
    try:
        block = int(rpc_call(url, "eth_blockNumber"), 16)
    except DevnetError as exc:
        return {"running": False, "rpc_url": url, "error": str(exc)}
    processes = [{**p, "alive": alive(p["pid"])} for p in run.get("processes", [])]
    keys = ("deployment", "job_market", "wallet", "content_gateway", "explorer")
    shown: dict[str, Any] = {k: run[k] for k in keys if k in run}
    return {
        "running": True,
        "rpc_url": url,
        "chain_id": run["chain_id"],
        "block": block,
        "processes": processes,
        **shown,
    }
