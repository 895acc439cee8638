"""The detached devnet of `neurolink devnet up|down|status`: processes recorded in a run file."""

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from neurolink.devnet.anvil import DEVNET_CHAIN_ID, is_up, rpc_call, start_anvil
from neurolink.errors import DevnetError

RUN_FILE = "devnet.json"


def devnet_dir(home: Path) -> Path:
    return home / "devnet"


def read_run(home: Path) -> dict[str, Any] | None:
    path = devnet_dir(home) / RUN_FILE
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def up(home: Path, *, port: int = 8545, chain_id: int = DEVNET_CHAIN_ID) -> dict[str, Any]:
    """Start anvil detached with persisted state; a running devnet is reported, not doubled."""
    run = read_run(home)
    if run and _alive(run["anvil"]["pid"]) and is_up(run["rpc_url"]):
        return {**run, "already_running": True}
    folder = devnet_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    anvil = start_anvil(
        port=port,
        chain_id=chain_id,
        state_file=folder / "anvil-state.json",
        log_file=folder / "anvil.log",
        detach=True,
    )
    assert anvil.process is not None
    run = {
        "rpc_url": anvil.rpc_url,
        "chain_id": chain_id,
        "anvil": {"pid": anvil.process.pid, "port": anvil.port},
        "processes": [],
        "started_at": int(time.time()),
    }
    (folder / RUN_FILE).write_text(json.dumps(run, indent=1))
    return {**run, "already_running": False}


def _terminate(pid: int, timeout: float = 10.0) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our child; otherwise just watch it go.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not _alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def down(home: Path) -> list[int]:
    """Stop every process the devnet started (nodes and workers first, anvil last)."""
    run = read_run(home)
    if run is None:
        return []
    pids = [p["pid"] for p in run.get("processes", [])] + [run["anvil"]["pid"]]
    for pid in pids:
        _terminate(pid)
    (devnet_dir(home) / RUN_FILE).unlink()
    return pids


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
    alive = [p for p in run.get("processes", []) if _alive(p["pid"])]
    return {
        "running": True,
        "rpc_url": url,
        "chain_id": run["chain_id"],
        "block": block,
        "processes": alive,
    }
