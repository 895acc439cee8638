"""Provider nodes on one machine, for demos, benchmarks and tests: a deployed network, a host with device
workers, provider accounts on it and their daemons as `neurolink node run` processes.

Devnet only: accounts are anvil's public development keys and keystores use a low scrypt cost.
"""

import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.config import Settings, load_settings
from neurolink.devnet.anvil import free_port
from neurolink.errors import DevnetError
from neurolink.processes import stop_processes
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.plan import DEVNET_TUNING

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from neurolink.devnet.anvil import Anvil
    from neurolink.protocol.params import VerificationMode
    from node.worker.pool import WorkerPool

PASSWORD = "neurolink-devnet"
TOKEN = 10**18
# Devnet keystores use a low scrypt cost; operators' keystores keep eth-account's standard cost.
FAST_SCRYPT = 2**4
WINDOW = DEVNET_TUNING.min_window  # the contract's hard floor for job windows


@dataclass(frozen=True)
class Network(Contracts):
    """The deployed contracts of a devnet and the anvil behind them."""

    anvil: "Anvil"

    @property
    def rpc_url(self) -> str:
        return self.anvil.rpc_url

    @classmethod
    def on_anvil(cls, anvil: "Anvil", contracts: Contracts) -> "Network":
        """`contracts` reached through `anvil` (a fresh connection, e.g. after a restart)."""
        from neurolink.chain.provider import connect

        bound = contracts.on(connect(anvil.rpc_url))
        return cls(bound.w3, bound.token, bound.staking, bound.market, anvil)


def deploy_network(anvil: "Anvil") -> Network:
    """NeuroToken, Staking and JobMarket, wired and tuned for a devnet, as `devnet up` deploys them."""
    from neurolink.chain.provider import connect
    from neurolink.chain.tx import TxSender
    from neurolink.compiler.build import DEFAULT_OUT, DEFAULT_SOURCES, build
    from neurolink.devnet.accounts import dev_account
    from neurolink.protocol.deploy import deploy_protocol

    build(DEFAULT_SOURCES, DEFAULT_OUT)
    contracts = deploy_protocol(TxSender(connect(anvil.rpc_url), dev_account(0)))
    return Network(contracts.w3, contracts.token, contracts.staking, contracts.market, anvil)


class RedisServer:
    """A redis-server of our own on a free port, with an append-only file so restarts keep queues."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise DevnetError("redis-server not found (Debian package redis-server)")
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
        raise DevnetError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process])


@dataclass
class Host:
    """One NEUROLINK_HOME on this machine: content store, keystore, broker settings, device workers.

    Several provider accounts may run on one host, each a daemon with its own node config and ledger,
    sharing the host's workers (the dispatcher's job ids carry the provider, so they never collide).
    """

    home: Path
    env: dict[str, str]

    @property
    def content(self) -> Path:
        return self.home / "content"

    def settings(self) -> Settings:
        names = {"NEUROLINK_BROKER_URL": "broker_url", "NEUROLINK_RESULT_BACKEND": "result_backend",
                 "NEUROLINK_QUEUE_PREFIX": "queue_prefix", "NEUROLINK_CPU_SLOTS": "cpu_slots"}  # fmt: skip
        overrides: dict[str, Any] = {name: self.env[key] for key, name in names.items()}
        return load_settings(home=self.home, **overrides)


def make_host(home: Path, broker: str, *, slots: int = 1) -> Host:
    """A host folder with a content store and a password file; its workers use `broker` ("sqlite" works)."""
    (home / "content").mkdir(parents=True, exist_ok=True)
    (home / "password").write_text(PASSWORD + "\n")
    env = {
        "NEUROLINK_HOME": str(home),
        "NEUROLINK_BROKER_URL": broker,
        "NEUROLINK_RESULT_BACKEND": broker,
        "NEUROLINK_QUEUE_PREFIX": f"t{uuid.uuid4().hex[:10]}",
        "NEUROLINK_CPU_SLOTS": str(slots),
        "NEUROLINK_PASSWORD": PASSWORD,
    }
    return Host(home, env)


def start_workers(host: Host) -> "WorkerPool":
    """The host's device workers, started apart from the daemons (`neurolink node run --no-workers`)."""
    from node.worker.pool import WorkerPool

    pool = WorkerPool(host.settings())
    pool.start()
    pool.wait_ready()
    return pool


@dataclass
class ProviderHome:
    """One provider account on a host: its node config, ledger and log."""

    host: Host
    index: int
    address: str
    rpc_url: str

    @property
    def home(self) -> Path:
        return self.host.home

    @property
    def config(self) -> Path:
        return self.home / f"node-{self.index}.toml"

    @property
    def ledger_path(self) -> Path:
        return self.home / "node" / f"ledger-{self.index}.sqlite"

    @property
    def log_path(self) -> Path:
        return self.home / f"node-{self.index}.log"


def fund_gas(network: Network, address: str) -> None:
    """Gas money from the deployer for an account beyond anvil's ten funded ones."""
    from eth_utils.address import to_checksum_address

    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account

    if network.w3.eth.get_balance(to_checksum_address(address)) == 0:
        TxSender(network.w3, dev_account(0)).send({"to": address, "value": 10**20}, "fund")


def fund_tokens(network: Network, account: "LocalAccount", amount: int) -> None:
    """Make `account` hold at least `amount` tokens: the faucet when it may draw, else a transfer from
    the deployer (an account that served an earlier test of this chain is still cooling down)."""
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account

    token = network.token.functions
    if token.balanceOf(account.address).call() >= amount:
        return
    if token.faucetAvailableAt(account.address).call() <= network.w3.eth.get_block("latest")["timestamp"]:
        TxSender(network.w3, account).transact(token.faucet())
    short = amount - token.balanceOf(account.address).call()
    if short > 0:
        TxSender(network.w3, dev_account(0)).transact(token.transfer(account.address, short))


def make_provider(
    network: Network,
    host: Host,
    index: int,
    *,
    stake_tokens: int = 200,
    price: int = 0,
    devices: int = 1,
    tier: int = 0,
    emulate: str = "none",
) -> ProviderHome:
    """Dev account `index` as a provider on `host`: funded, registered, staked, keystore and config.

    It registers the determinism class its node finds at start: that of this machine under `emulate`
    (which its node.toml sets), as `neurolink node register` would.
    """
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account
    from neurolink.devnet.network import import_dev_key
    from neurolink.protocol.params import Capabilities
    from neurolink.verification.class_cache import cached_host_class
    from neurolink.verification.emulation import parse

    account = dev_account(index)
    fund_gas(network, account.address)
    # Once per host: the account may have served another chain on it.
    import_dev_key(host.home / "keystore", index, host.home / "password", scrypt_n=FAST_SCRYPT)
    provider = ProviderHome(host, index, account.address, network.rpc_url)
    emulation = parse(emulate)
    provider.config.write_text(
        f'account = "{account.address}"\nledger_path = "{provider.ledger_path}"\n'
        f'job_market = "{network.market.address}"\nstaking = "{network.staking.address}"\n'
        f'token = "{network.token.address}"\nstart_block = {network.w3.eth.block_number}\n'
        f"price_per_gpu_second = {price}\ndevices = {devices}\nvram_mb = 4096\npoll_interval = 0.2\n"
        f'replace_after = 20\ntier = {tier}\nemulate = "{emulation.value}"\n'
    )
    fund_tokens(network, account, stake_tokens * TOKEN)
    sender = TxSender(network.w3, account)
    sender.transact(network.token.functions.approve(network.staking.address, stake_tokens * TOKEN))
    device_class = cached_host_class(emulation, devices)
    offered = Capabilities(devices, 4096, tier, price, device_class=device_class).as_tuple()
    # An account an earlier test registered on this chain offers this test's capabilities instead.
    registered = network.staking.functions.isRegistered(account.address).call()
    fn = network.staking.functions.updateCapabilities if registered else network.staking.functions.register
    sender.transact(fn(offered))
    sender.transact(network.staking.functions.stake(stake_tokens * TOKEN))
    return provider


def node_env(provider: ProviderHome, **extra: str) -> dict[str, str]:
    from neurolink.devnet.network import child_env

    return child_env(provider.home, provider.rpc_url, {**provider.host.env, **extra})


class NodeLog:
    """The JSON log of a provider's daemon, however many times it was started."""

    def __init__(self, provider: ProviderHome) -> None:
        self.path = provider.log_path

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.startswith("{")]

    def has(self, msg: str, job_id: int) -> bool:
        return any(e["msg"] == msg and e.get("job_id") == job_id for e in self.entries())


class NodeProcess:
    """`neurolink node run` as a child process with JSON logs in a file, like an operator runs it."""

    def __init__(self, provider: ProviderHome, *args: str, crash_at: str | None = None) -> None:
        self.provider = provider
        from neurolink.devnet.network import neurolink_command

        extra = {"NEUROLINK_CRASH_AT": crash_at} if crash_at else {}
        with open(provider.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *neurolink_command(),
                    "node",
                    "run",
                    "--json-logs",
                    "--config",
                    str(provider.config),
                    "--password-file",
                    str(provider.home / "password"),
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=node_env(provider, **extra),
            )

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        stop_all([self])

    def logs(self) -> list[dict[str, Any]]:
        """Every JSON line this provider's daemons wrote (this run and earlier ones)."""
        return NodeLog(self.provider).entries()


def stop_all(nodes: list[NodeProcess]) -> None:
    """SIGTERM every node at once (their shutdowns overlap), SIGKILL any still running after 30 s."""
    stop_processes([node.process for node in nodes], timeout=30)


def create_job(
    network: Network,
    spec: bytes,
    host: Host,
    *,
    requester: int = 1,
    payment: int = 3 * TOKEN,
    replicas: int = 1,
    collateral: int = 5 * TOKEN,
    gpu_count: int = 1,
    max_gpu_seconds: int = 10,
    tier: int = 0,
    windows: tuple[int, int, int] = (WINDOW, WINDOW, WINDOW),
    verification: "VerificationMode | None" = None,
    tolerance: int = 0,
    device_class: bytes = bytes(32),
    reserve: int = 0,
) -> int:
    """Put the spec in the content store and escrow a job for it from a wallet (payment and `reserve`);
    returns the job id. Verification defaults to exact (tolerance 0, any class)."""
    from web3.logs import DISCARD

    from neurolink.chain.tx import TxSender
    from neurolink.content import LocalStore, cid_to_digest
    from neurolink.devnet.accounts import dev_account
    from neurolink.protocol.params import JobParams, Requirements, VerificationMode

    digest = cid_to_digest(LocalStore(host.content).put_bytes(spec))
    sender = TxSender(network.w3, dev_account(requester))
    fund_gas(network, sender.address)
    fund_tokens(network, dev_account(requester), payment + reserve)
    sender.transact(network.token.functions.approve(network.market.address, payment + reserve))
    params = JobParams(
        spec_digest=digest,
        payment=payment,
        replicas=replicas,
        collateral=collateral,
        requirements=Requirements(gpu_count=gpu_count, tier=tier, max_gpu_seconds=max_gpu_seconds),
        claim_window=windows[0],
        commit_window=windows[1],
        reveal_window=windows[2],
        verification=verification or VerificationMode.EXACT,
        tolerance=tolerance,
        device_class=device_class,
        reserve=reserve,
    )
    receipt = sender.transact(network.market.functions.createJob(params.as_tuple()))
    (event,) = network.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["jobId"])


def benchmark_spec(replicas: int = 1, *, iterations: int = 2, size: int = 64, seed: int = 0) -> bytes:
    from neurolink.spec import BenchmarkWorkload, JobSpec, Requirements

    return JobSpec(
        workload=BenchmarkWorkload(size=size, iterations=iterations),
        replicas=replicas,
        requirements=Requirements(gpu_count=1, max_runtime_s=10),
        seed=seed,
    ).canonical_json()


def poisoned_spec(host: Host) -> bytes:
    """A k = 3 training job whose dataset is not safetensors: every honest node fails it the same way."""
    from neurolink.content import LocalStore
    from neurolink.spec import JobSpec, MLPArch, Requirements, TrainWorkload

    return JobSpec(
        workload=TrainWorkload(
            model=MLPArch(in_features=4, hidden=(8,), out_features=2), dataset="data", batch_size=4
        ),
        inputs={"data": LocalStore(host.content).put_bytes(b"this is not a safetensors file" * 4)},
        requirements=Requirements(gpu_count=1, max_runtime_s=10),
        replicas=3,
    ).canonical_json()


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    *,
    process: NodeProcess | list[NodeProcess] | None = None,
) -> None:
    """Poll `predicate`; fail at the timeout, or at once when a node that should run has exited."""
    watched = [] if process is None else process if isinstance(process, list) else [process]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for node in watched:
            if node.process.poll() is not None:
                raise AssertionError(f"node exited with {node.process.returncode} while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
