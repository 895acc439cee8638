"""The provider-node test bench: node.localnet's network, hosts and daemons, plus a private Redis broker.

Everything is real: contracts compiled and deployed on anvil, Celery workers on a Redis server started
for this session (so tests may restart it), the embedded content store shared by requester and nodes.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

from neurolink.devnet.anvil import free_port
from neurolink.processes import stop_processes
from neurolink.protocol.views import JobPhase, read_phase
from node.daemon.ledger import Ledger
from node.localnet import (
    FAST_SCRYPT,
    PASSWORD,
    TOKEN,
    WINDOW,
    Host,
    Network,
    NodeLog,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    deploy_network,
    make_host,
    make_provider,
    poisoned_spec,
    start_workers,
    stop_all,
    wait_until,
)

__all__ = [
    "FAST_SCRYPT",
    "PASSWORD",
    "TOKEN",
    "WINDOW",
    "Host",
    "Network",
    "NodeLog",
    "NodeProcess",
    "ProviderHome",
    "RedisServer",
    "benchmark_spec",
    "create_job",
    "deploy_network",
    "ledger_of",
    "make_host",
    "make_provider",
    "net_of",
    "poisoned_spec",
    "start_workers",
    "stop_all",
    "tip_of",
    "wait_settled",
    "wait_until",
]


class RedisServer:
    """A redis-server of the test's own on a free port, with an append-only file so restarts keep queues."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        redis = shutil.which("redis-server")
        assert redis, "redis-server is part of the test bench (Debian package redis-server)"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process])


def wait_settled(
    network: Network,
    job_id: int,
    timeout: float,
    what: str,
    *,
    process: NodeProcess | list[NodeProcess] | None = None,
) -> None:
    """Wait until the job is settled on chain (see `wait_until` for `process`)."""
    wait_until(lambda: read_phase(network.market, job_id) is JobPhase.SETTLED, timeout, what, process=process)


def net_of(network: Network, payment: int) -> int:
    """What providers share of `payment`: the payment less the protocol fee."""
    return payment - payment * network.market.functions.feeBps().call() // 10_000


def tip_of(network: Network, payment: int) -> int:
    """The part of the fee credited to whoever concludes a job (its last revealer, or a settler)."""
    fee = payment - net_of(network, payment)
    return fee * network.market.functions.SETTLEMENT_TIP_BPS().call() // 10_000


def ledger_of(provider: ProviderHome) -> Ledger:
    return Ledger(provider.ledger_path)
