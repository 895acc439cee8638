"""The whole network on one machine: wallets, provider nodes, the keeper and the explorer as
`neurolink` subprocesses.

The shared core never imports `node` or `coordinator`: it starts `neurolink node run`,
`neurolink coordinator keeper` and `neurolink explorer serve` as child processes, each in a home of
its own under the devnet folder, and records their pids so `devnet down` stops exactly what `up`
started.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import free_port
from neurolink.devnet.pids import alive, started_at
from neurolink.errors import DevnetError

if TYPE_CHECKING:
    from neurolink.chain.deployments import Deployment
    from neurolink.config import Settings
    from neurolink.protocol.contracts import Contracts

REQUESTER_INDEX = 1
FIRST_PROVIDER_INDEX = 2
KEEPER_INDEX = 9
MAX_PROVIDERS = KEEPER_INDEX - FIRST_PROVIDER_INDEX
PROVIDER_STAKE = 1_000 * 10**18
# Memory per device a devnet node offers (its node.toml; register_providers registers the same).
NODE_VRAM_MB = 16_384
# Devnet keys are anvil's public ones: a low scrypt cost keeps every CLI unlock instant.
DEVNET_SCRYPT_N = 2**12
NODE_READY_TIMEOUT_S = 180.0
# Misbehaviour a devnet node may be started with (`neurolink node run --fault`): a digest that is not the
# result's, silence after the claim, or results with 1 % noise (a wrong computation tolerant jobs catch).
FAULTS = ("none", "wrong-result", "silent", "noise")
# CPU device slots (Celery workers) each devnet node runs.
NODE_CPU_SLOTS = 1


@dataclass(frozen=True)
class NetworkPlan:
    """What `devnet up` runs beside anvil: N provider nodes (faults by index), the keeper, the explorer."""

    providers: int = 3
    faults: dict[int, str] = field(default_factory=dict)
    keeper: bool = True
    explorer: bool = True
    keeper_interval: float = 0.5
    node_poll_interval: float = 0.2
    # The nodes' Celery broker and result backend: the embedded SQLite, or a URL such as redis://…
    # (each node keeps its own queues on it).
    broker: str = "sqlite"

    def __post_init__(self) -> None:
        if not 0 <= self.providers <= MAX_PROVIDERS:
            raise DevnetError(f"a devnet runs 0..{MAX_PROVIDERS} providers, not {self.providers}")
        for index, kind in self.faults.items():
            if not 0 <= index < self.providers or kind not in FAULTS:
                raise DevnetError(
                    f"fault {index}={kind}: index must be < {self.providers}, kind one of {FAULTS}"
                )


def neurolink_command() -> list[str]:
    """The `neurolink` executable of this interpreter's environment."""
    beside = Path(sys.executable).with_name("neurolink")
    found = str(beside) if beside.exists() else shutil.which("neurolink")
    if found is None:
        raise DevnetError("the `neurolink` command is not installed next to this Python")
    return [found]


def password_file(folder: Path) -> Path:
    """The devnet's keystore password (random per devnet, 0600): unlocks only public dev keys."""
    path = folder / "password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(16) + "\n")
    return path


def import_dev_key(keystore_dir: Path, index: int, password: Path, *, scrypt_n: int = DEVNET_SCRYPT_N) -> str:
    """Put dev account `index` into `keystore_dir` (once); returns its address."""
    from neurolink.accounts.keystore import Keystore

    store = Keystore(keystore_dir, scrypt_n=scrypt_n)
    account = dev_account(index)
    if not any(e.address == account.address for e in store.list()):
        store.import_key(account.key.hex(), password.read_text().splitlines()[0])
    return str(account.address)


def child_env(home: Path, rpc_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a `neurolink` child: this one's, minus every NEUROLINK_* setting, plus its own."""
    # A child reads only its own NEUROLINK_* settings, never the parent's (another home, broker, ...).
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
    return {**env, "NEUROLINK_HOME": str(home), "NEUROLINK_RPC_URL": rpc_url, **extra}


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        # Its own session: `down` signals the whole group, workers included, and the child outlives us.
        return subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def provider_home(
    folder: Path,
    settings: "Settings",
    deployment: "Deployment",
    *,
    index: int,
    password: Path,
    plan: NetworkPlan,
) -> Path:
    """A node's home: its keystore, node.toml naming the contracts, the shared content store."""
    home = folder / "nodes" / f"provider-{index}"
    home.mkdir(parents=True, exist_ok=True)
    content = home / "content"
    settings.content_dir.mkdir(parents=True, exist_ok=True)
    if not content.exists():
        # Requester and nodes share the embedded content store, as they would share IPFS.
        content.symlink_to(settings.content_dir.resolve())
    import_dev_key(home / "keystore", FIRST_PROVIDER_INDEX + index, password)
    (home / "node.toml").write_text(
        f'job_market = "{deployment.job_market.address}"\nstaking = "{deployment.staking.address}"\n'
        f'token = "{deployment.token.address}"\nstart_block = {deployment.deploy_block}\n'
        f"devices = 1\nvram_mb = {NODE_VRAM_MB}\npoll_interval = {plan.node_poll_interval}\n"
        "replace_after = 20\n"
    )
    return home


def register_providers(contracts: "Contracts", plan: NetworkPlan) -> list[str]:
    """Fund, register and stake every provider account that is not registered yet, in the determinism
    class its node (one device, no emulation: provider_home) will find at start; an account registered
    in another class (an earlier torch, say) registers this one."""
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.bootstrap import fund, register_provider
    from neurolink.protocol.params import Capabilities
    from neurolink.verification.class_cache import cached_host_class
    from neurolink.verification.emulation import Emulation

    offered = Capabilities(1, NODE_VRAM_MB, 0, 0, device_class=cached_host_class(Emulation.NONE, 1))
    staking = contracts.staking.functions
    addresses = []
    for index in range(plan.providers):
        account = dev_account(FIRST_PROVIDER_INDEX + index)
        if not staking.isRegistered(account.address).call():
            fund(contracts, account)
            register_provider(contracts, account, PROVIDER_STAKE, offered)
        elif bytes(staking.deviceClassOf(account.address).call()) != offered.device_class:
            TxSender(contracts.w3, account).transact(staking.updateCapabilities(offered.as_tuple()))
        addresses.append(str(account.address))
    return addresses


def start_processes(
    folder: Path, settings: "Settings", rpc_url: str, deployment: "Deployment", plan: NetworkPlan
) -> list[dict[str, Any]]:
    """Start the nodes, the keeper and the explorer; returns their records for the run file."""
    password = password_file(folder)
    cli = neurolink_command()
    started: list[dict[str, Any]] = []
    # The devnet's store, served read-only: how a node in a home of its own gets specs and inputs.
    gateway = f"http://127.0.0.1:{free_port()}"
    log = folder / "logs" / "content.log"
    env = child_env(settings.home, rpc_url, {})
    process = _spawn([*cli, "content", "serve", "--port", gateway.rsplit(":", 1)[1]], env, log)
    started.append({"role": "content", "url": gateway, "pid": process.pid, "log": str(log)})
    for index in range(plan.providers):
        home = provider_home(folder, settings, deployment, index=index, password=password, plan=plan)
        fault = plan.faults.get(index, "none")
        env = child_env(home, rpc_url, {"NEUROLINK_QUEUE_PREFIX": f"dev{index}{secrets.token_hex(3)}",
                                         "NEUROLINK_CPU_SLOTS": str(NODE_CPU_SLOTS),
                                         "NEUROLINK_BROKER_URL": plan.broker,
                                         "NEUROLINK_RESULT_BACKEND": plan.broker})  # fmt: skip
        log = folder / "logs" / f"provider-{index}.log"
        args = [*cli, "node", "run", "--json-logs", "--password-file", str(password), "--fault", fault]
        process = _spawn(args, env, log)
        address = str(dev_account(FIRST_PROVIDER_INDEX + index).address)
        started.append({"role": "provider", "index": index, "address": address, "fault": fault,
                        "pid": process.pid, "started_at": started_at(process.pid),
                        "log": str(log), "home": str(home)})  # fmt: skip
    if plan.keeper:
        home = folder / "keeper"
        import_dev_key(home / "keystore", KEEPER_INDEX, password)
        env = child_env(home, rpc_url, {"NEUROLINK_DEPLOYMENTS": str(settings.deployments_dir)})
        log = folder / "logs" / "keeper.log"
        args = [*cli, "coordinator", "keeper", "--json", "--password-file", str(password),
                "--interval", str(plan.keeper_interval)]  # fmt: skip
        process = _spawn(args, env, log)
        started.append({"role": "keeper", "address": str(dev_account(KEEPER_INDEX).address),
                        "pid": process.pid, "started_at": started_at(process.pid),
                        "log": str(log), "home": str(home)})  # fmt: skip
    if plan.explorer:
        started.append(_start_explorer(folder, settings, rpc_url, cli))
    return started


def _start_explorer(folder: Path, settings: "Settings", rpc_url: str, cli: list[str]) -> dict[str, Any]:
    """The explorer (API, dashboard and indexer in one process) with its SQLite file in a home of its own."""
    home = folder / "explorer"
    port = free_port()
    env = child_env(home, rpc_url, {"NEUROLINK_DEPLOYMENTS": str(settings.deployments_dir)})
    log = folder / "logs" / "explorer.log"
    args = [*cli, "explorer", "serve", "--port", str(port), "--interval", "0.2"]
    process = _spawn(args, env, log)
    return {"role": "explorer", "url": f"http://127.0.0.1:{port}/", "pid": process.pid,
            "started_at": started_at(process.pid), "log": str(log), "home": str(home)}  # fmt: skip


def gateway_ready(record: dict[str, Any]) -> bool:
    """Whether the content gateway answers HTTP (a 404 for a made-up path is an answer)."""
    return _answers(record["url"].rstrip("/") + "/")


def explorer_ready(record: dict[str, Any]) -> bool:
    """Whether the explorer's API answers its health check."""
    return _answers(record["url"] + "api/v1/health")


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=0.5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def node_ready(record: dict[str, Any]) -> bool:
    """Whether a node's log says its daemon started (its workers are up by then)."""
    log = Path(record["log"])
    if not log.exists():
        return False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and json.loads(line).get("msg") == "node started":
            return True
    return False


def wait_ready(processes: list[dict[str, Any]], timeout: float = NODE_READY_TIMEOUT_S) -> None:
    """Wait until every node has started; a node that exits first is reported with its log's tail."""

    deadline = time.monotonic() + timeout
    ready = {"provider": node_ready, "content": gateway_ready, "explorer": explorer_ready}
    waiting = [p for p in processes if p["role"] in ready]
    while waiting:
        for record in list(waiting):
            if ready[record["role"]](record):
                waiting.remove(record)
            elif not alive(record["pid"]):
                tail = Path(record["log"]).read_text(errors="replace").splitlines()[-5:]
                who = f"{record['role']} {record.get('index', '')}".strip()
                raise DevnetError(f"{who} exited during start-up: " + " | ".join(tail))
        if waiting and time.monotonic() > deadline:
            raise DevnetError(
                f"{len(waiting)} provider nodes not ready after {timeout:.0f}s; see devnet/logs"
            )
        time.sleep(0.2)
