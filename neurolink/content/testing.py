"""A throwaway js-ipfs daemon (a real /api/v0 implementation) for integration tests and benchmarks."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from neurolink.compiler.build import PROJECT_ROOT
from neurolink.content.errors import ContentUnavailableError
from neurolink.devnet.anvil import free_port
from neurolink.processes import stop_processes

IPFS_TOOL_DIR = PROJECT_ROOT / "tools" / "ipfs"
# Node 20 lacks Promise.withResolvers, which js-ipfs's dependencies call.
POLYFILL = IPFS_TOOL_DIR / "promise-with-resolvers.cjs"


def jsipfs_binary() -> Path:
    """$NEUROLINK_JSIPFS or the copy `make ipfs` installs under tools/ipfs."""
    path = Path(os.environ.get("NEUROLINK_JSIPFS", IPFS_TOOL_DIR / "node_modules" / ".bin" / "jsipfs"))
    if not path.exists():
        raise ContentUnavailableError(f"jsipfs not found at {path}: run `make ipfs`")
    return path


@dataclass
class IpfsDaemon:
    """A running `jsipfs daemon --offline` with its own repository."""

    api_url: str
    repo: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 10.0) -> None:
        stop_processes([self.process], timeout)


def _api_answers(url: str) -> bool:
    try:
        request = urllib.request.Request(f"{url}/api/v0/version", method="POST")
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def jsipfs_daemon(repo: Path, *, ready_timeout: float = 60.0) -> Iterator[IpfsDaemon]:
    """Init a repository at `repo`, run an offline daemon on free ports until the block exits."""
    env = {
        **os.environ,
        "IPFS_PATH": str(repo),
        "NODE_OPTIONS": f"{os.environ.get('NODE_OPTIONS', '')} --require {POLYFILL}".strip(),
    }
    binary = jsipfs_binary()
    init = subprocess.run(
        [str(binary), "init", "--profile", "test"],
        check=False,
        env=env,
        capture_output=True,
        timeout=ready_timeout,
    )
    if init.returncode != 0:
        raise ContentUnavailableError(f"jsipfs init failed: {init.stderr.decode(errors='replace')[-2000:]}")
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    api_port = free_port()
    config["Addresses"].update(
        API=f"/ip4/127.0.0.1/tcp/{api_port}",
        Gateway=f"/ip4/127.0.0.1/tcp/{free_port()}",
        Swarm=[f"/ip4/127.0.0.1/tcp/{free_port()}"],
        RPC=f"/ip4/127.0.0.1/tcp/{free_port()}",
    )
    config_path.write_text(json.dumps(config, indent=2))
    log = repo / "daemon.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(binary), "daemon", "--offline"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    daemon = IpfsDaemon(f"http://127.0.0.1:{api_port}", repo, process, log)
    try:
        deadline = time.monotonic() + ready_timeout
        while not _api_answers(daemon.api_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ContentUnavailableError(
                    f"jsipfs daemon did not come up on {daemon.api_url}: {log.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield daemon
    finally:
        daemon.stop()
