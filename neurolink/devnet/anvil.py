"""Starts, probes and stops an anvil node from npm's @foundry-rs/anvil-linux-amd64 on a free port."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from neurolink.compiler.build import NODE_MODULES
from neurolink.errors import DevnetError
from neurolink.processes import stop_processes

# anvil's well-known development mnemonic: its keys are public, never use them on a real chain.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEVNET_CHAIN_ID = 31337


def anvil_binary() -> Path:
    """$NEUROLINK_ANVIL, the npm package's binary, or `anvil` on PATH."""
    override = os.environ.get("NEUROLINK_ANVIL")
    candidates = [
        Path(override) if override else None,
        NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        Path(p) if (p := shutil.which("anvil")) else None,
    ]
    for candidate in candidates:
        if candidate is not None and candidate.exists():
            return candidate
    raise DevnetError("anvil not found: run `npm ci` in the project root (or set NEUROLINK_ANVIL)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call without web3, for probes that must stay fast."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise DevnetError(f"{method} failed: {reply['error']}")
    return reply["result"]


def is_up(url: str) -> bool:
    try:
        rpc_call(url, "eth_chainId", timeout=0.5)
    except (OSError, urllib.error.URLError, DevnetError, ValueError):
        return False
    return True


@dataclass
class Anvil:
    """A running anvil process; use as a context manager or call stop()."""

    port: int
    process: subprocess.Popen[bytes] | None
    chain_id: int = DEVNET_CHAIN_ID
    state_file: Path | None = None
    log_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil writes --state on the way out), then SIGKILL if it lingers."""
        if self.process is not None:
            stop_processes([self.process], timeout)

    def __enter__(self) -> "Anvil":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_anvil(
    *,
    port: int | None = None,
    chain_id: int = DEVNET_CHAIN_ID,
    state_file: Path | None = None,
    block_time: float | None = None,
    accounts: int = 10,
    balance_eth: int = 10_000,
    log_file: Path | None = None,
    detach: bool = False,
    ready_timeout: float = 15.0,
) -> Anvil:
    """Start anvil and wait until its RPC answers; `detach` survives this process's exit.

    With `block_time`, anvil also mines an empty block every `block_time` seconds, so deadlines
    pass on an idle chain; transactions are mined at once either way.
    """
    port = port or free_port()
    cmd = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--accounts", str(accounts),
        "--balance", str(balance_eth),
        "--mnemonic", DEV_MNEMONIC,
        "--silent",
    ]  # fmt: skip
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--state", str(state_file)]
    if block_time is not None:
        # Mixed: a block every `block_time` seconds keeps the chain clock moving without traffic,
        # and transactions are still mined the moment they arrive.
        cmd += ["--block-time", str(block_time), "--mixed-mining"]
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=detach)
    anvil = Anvil(port, process, chain_id, state_file, log_file)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevnetError(f"anvil exited with code {process.returncode} on port {port}")
        if is_up(anvil.rpc_url):
            return anvil
        time.sleep(0.05)
    anvil.stop()
    raise DevnetError(f"anvil did not answer on {anvil.rpc_url} within {ready_timeout}s")
