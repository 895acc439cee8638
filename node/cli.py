"""`neurolink node …`: workers, selftest, register, stake, unstake, withdraw, status, quarantine, run."""

import logging
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from neurolink.cli import validate
from neurolink.cli.options import bundled
from neurolink.cli.output import JsonOption, emit, tokens, when

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from neurolink.config import Settings
    from node.daemon.app import Chain
    from node.daemon.config import NodeConfig
    from node.daemon.ledger import Ledger

app = typer.Typer(
    help="Run a provider node: register, stake, run the daemon with its device workers, watch it.",
    no_args_is_help=True,
)


@app.command()
def workers(
    slots: int | None = typer.Option(None, help="CPU device slots when there is no GPU (default: config)."),
    loglevel: str = typer.Option("WARNING", help="Celery log level of each worker."),
    host_label: str = typer.Option(
        None, "--host-label", help="This host's name in the device registry (default: config, else hostname)."
    ),
    host_address: str = typer.Option(
        None, help="Address other hosts reach this host's job ranks on (default: config, else 127.0.0.1)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Start one Celery worker per GPU (or CPU slot) and keep them running until interrupted; with a
    cluster registry (Redis or PostgreSQL), run it on every host of the provider."""
    from neurolink.config import load_settings
    from node.worker.errors import DevicesUnavailableError
    from node.worker.pool import WorkerPool

    settings = load_settings(host_label=host_label, host_address=host_address)
    stop = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    with WorkerPool(settings, slots=slots) as pool:
        devices = pool.start(loglevel=loglevel)
        pool.wait_ready()
        emit(
            {
                "host": settings.host,
                "devices": [{"id": d.device_id, "queue": d.queue, "pid": d.pid} for d in devices],
            },
            as_json,
            "\n".join(f"{settings.host}  {d.device_id}  queue {d.queue}  pid {d.pid}" for d in devices)
            + f"\n{len(devices)} workers ready; logs in {pool.log_dir}. Ctrl-C stops them.",
        )
        try:
            while not stop and all(p.poll() is None for p in pool.processes.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return
        dead = [queue for queue, p in pool.processes.items() if p.poll() is not None]
        if dead:
            raise DevicesUnavailableError(f"worker {dead[0]} exited; see {pool.log_dir / dead[0]}.log")


def _devices_by_host(settings: "Settings", host: str | None = None) -> dict[str, list[dict[str, Any]]]:
    from node.worker.cluster_registry import open_registry
    from node.worker.registry import device_report

    registry = open_registry(settings)
    try:
        rows = device_report(registry)
    finally:
        registry.close()
    hosts: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if host is None or row["host"] == host:
            hosts.setdefault(row["host"], []).append(row)
    return hosts


def _hosts_text(hosts: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = []
    for host, rows in hosts.items():
        states = [r["state"] for r in rows]
        summary = ", ".join(f"{states.count(s)} {s}" for s in ("free", "reserved", "dead") if s in states)
        lines.append(f"host {host}: {summary}")
        for r in rows:
            held = f"  job {r['job_id']}" if r["job_id"] else ""
            age = "never" if r["heartbeat_age_s"] is None else f"{r['heartbeat_age_s']:.1f}s ago"
            lines.append(f"  {r['device']:8} {r['queue']:28} {r['state']:8} beat {age}{held}")
    return lines or ["no devices registered"]


@app.command()
def devices(
    host_label: str = typer.Option(None, "--host-label", help="Only this host's devices."),
    as_json: bool = JsonOption,
) -> None:
    """Every host's devices in the registry with their state (free, reserved, dead): no chain needed."""
    from neurolink.config import load_settings

    hosts = _devices_by_host(load_settings(), host_label)
    emit({"hosts": hosts}, as_json, "\n".join(_hosts_text(hosts)))


@app.command()
def selftest(
    slots: int = typer.Option(2, help="CPU device slots when there is no GPU."),
    as_json: bool = JsonOption,
) -> None:
    """Run a benchmark, an inference and a training job through real workers on this machine."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from neurolink.config import load_settings
    from neurolink.verification.emulation import Emulation
    from neurolink.verification.suite import host_class
    from node.worker.pool import WorkerPool
    from node.worker.selftest import run_selftest

    # Its own home and SQLite broker: the selftest never takes jobs from (or gives them to) a running node.
    with tempfile.TemporaryDirectory(prefix="neurolink-selftest-") as home:
        settings = load_settings(home=Path(home), broker_url="sqlite", result_backend="sqlite")
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=as_json
        ) as bar:
            bar.add_task("starting workers and running jobs…")
            with WorkerPool(settings, slots=slots) as pool:
                pool.start()
                pool.wait_ready()
                report = run_selftest(settings, devices=pool.slots)
            # What `node register` records for these devices (without emulation).
            report["device_class"] = "0x" + host_class(Emulation.NONE, pool.slots).hex()
    box = report["sandbox"]
    lines = [f"{len(report['jobs'])} jobs on {report['devices']} devices"]
    lines.append(f"determinism class: {report['device_class']}")
    if box["active"] and box["jobs_sandboxed"]:
        lines.append(f"sandbox: active ({box['version']}, start {box['start_ms']} ms)")
    else:
        lines.append(f"sandbox: NOT ACTIVE — {box['reason'] or 'jobs ran unsandboxed'}")
    lines += [f"  not enforced: {item}" for item in box["not_enforced"]]
    for name, job in report["jobs"].items():
        lines.append(
            f"{name:10} {job['sha256'][:16]}  reproducible={job['reproducible']}  "
            f"{job['seconds'][0]:.3f}s / {job['seconds'][1]:.3f}s"
        )
    emit(report, as_json, "\n".join(lines))
    if not report["ok"]:
        raise typer.Exit(1)


ConfigOption = typer.Option(None, "--config", help="node.toml (default: $NEUROLINK_HOME/node.toml).")
AccountOption = typer.Option(
    None, "--account", callback=validate.address, help="Keystore address (default: the only one)."
)
PasswordFileOption = typer.Option(
    None,
    "--password-file",
    callback=validate.password_file,
    help="Keystore password file (else $NEUROLINK_PASSWORD, else a prompt).",
)


@dataclass(frozen=True)
class NodeArgs:
    """The options the chain commands share: the node config, the provider's keystore, and how to print."""

    config_path: Path | None = ConfigOption
    account: str | None = AccountOption
    password_file: Path | None = PasswordFileOption
    as_json: bool = JsonOption

    def context(self, **overrides: Any) -> tuple["Settings", "NodeConfig"]:
        """The settings and node.toml, with --account and `overrides` over the file's values."""
        from neurolink.config import load_settings
        from node.daemon.config import load_node_config

        settings = load_settings()
        return settings, load_node_config(settings, self.config_path, account=self.account, **overrides)

    def unlock(self, settings: "Settings", config: "NodeConfig") -> "LocalAccount":
        from neurolink.cli.wallet import unlock_account

        return unlock_account(settings, config.account, self.password_file)

    def signed(self) -> tuple["LocalAccount", "Chain"]:
        """The unlocked provider account and the chain it acts on."""
        from node.daemon.app import connect_chain

        settings, config = self.context()
        signer = self.unlock(settings, config)
        return signer, connect_chain(settings, config)

    def emit(self, data: dict[str, Any], text: str | None = None) -> None:
        emit(data, self.as_json, text)


chain_command = bundled("args", NodeArgs)


def _sender(chain: "Chain", account: "LocalAccount") -> Any:
    from neurolink.chain.tx import TxSender

    return TxSender(chain.w3, account)


AmountArgument = typer.Argument(
    ..., callback=validate.amount, help="Tokens (a positive decimal, e.g. 100 or 2.5)."
)


def _amount(text: str, decimals: int) -> int:
    """`text` tokens (checked at parse time) in token units."""
    return validate.scaled(validate.decimal_amount(text), decimals)


@app.command()
@chain_command
def register(
    *,
    price: int = typer.Option(
        None, help="Token units per GPU-second (default: price_per_gpu_second of the config)."
    ),
    devices: int = typer.Option(None, help="Device count to offer (default: detected)."),
    vram_mb: int = typer.Option(None, help="Memory per device in MiB (default: detected)."),
    tier: int = typer.Option(None, help="Hardware tier (default: the config's)."),
    emulate: str = typer.Option(
        None,
        help="DEVNETS ONLY: register the determinism class of an emulated device (as `node run --emulate`"
        " computes); default: the config's, else none.",
    ),
    args: NodeArgs,
) -> None:
    """Register (or update) this machine's capabilities in the Staking registry, with the determinism
    class its devices compute (run it again after a driver, torch or device change)."""
    from neurolink.protocol.params import Capabilities
    from neurolink.verification.emulation import Emulation
    from node.daemon.app import connect_chain
    from node.daemon.capabilities import detect, device_class

    settings, config = args.context(
        devices=devices, vram_mb=vram_mb, tier=tier, price_per_gpu_second=price, emulate=emulate
    )
    if config.emulate is not Emulation.NONE:
        from neurolink.chain.provider import connect
        from node.daemon.daemon import refuse_off_devnet

        refuse_off_devnet(
            [f"device emulation ({config.emulate.value})"], int(connect(settings.rpc_url).eth.chain_id)
        )
    hardware = detect(settings, config)
    signer = args.unlock(settings, config)
    chain = connect_chain(settings, config)
    # Fresh: registering is when the class must be this machine's as it is now, not as remembered.
    device = device_class(hardware, config, fresh=True)
    caps = Capabilities(
        hardware.devices, hardware.vram_mb, config.tier, config.price_per_gpu_second, device_class=device
    ).as_tuple()
    staking = chain.market.staking.functions
    updating = chain.market.is_registered(signer.address)
    previous = bytes(staking.deviceClassOf(signer.address).call()) if updating else None
    fn = staking.updateCapabilities(caps) if updating else staking.register(caps)
    receipt = _sender(chain, signer).transact(fn)
    data = {
        "provider": signer.address,
        "devices": hardware.devices,
        "kind": hardware.kind,
        "vram_mb": hardware.vram_mb,
        "tier": config.tier,
        "price_per_gpu_second": config.price_per_gpu_second,
        "device_class": "0x" + device.hex(),
        "emulate": config.emulate.value,
        "class_changed": previous is not None and previous != device,
        "updated": updating,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
    }
    verb = "updated" if updating else "registered"
    changed = f" (was 0x{previous.hex()})" if previous is not None and previous != device else ""
    args.emit(
        data,
        f"{verb} {signer.address}: {hardware.devices} {hardware.kind} device(s), {hardware.vram_mb} MiB,"
        f" determinism class 0x{device.hex()}{changed}",
    )


@app.command()
@chain_command
def stake(
    amount: str = AmountArgument,
    *,
    args: NodeArgs,
) -> None:
    """Approve and stake tokens (free stake backs job collateral)."""
    signer, chain = args.signed()
    token = chain.market.token()
    units = _amount(amount, int(token.functions.decimals().call()))
    sender = _sender(chain, signer)
    if int(token.functions.allowance(signer.address, chain.market.staking.address).call()) < units:
        sender.transact(token.functions.approve(chain.market.staking.address, units))
    sender.transact(chain.market.staking.functions.stake(units))
    info = chain.market.stake_info(signer.address)
    args.emit(
        {"staked": units, **info},
        f"staked {tokens(units)}; total stake {tokens(info['staked'])}, free {tokens(info['free'])}",
    )


@app.command()
@chain_command
def unstake(
    amount: str = AmountArgument,
    *,
    args: NodeArgs,
) -> None:
    """Start the unstake cooldown for part of the free stake."""
    signer, chain = args.signed()
    units = _amount(amount, int(chain.market.token().functions.decimals().call()))
    _sender(chain, signer).transact(chain.market.staking.functions.requestUnstake(units))
    info = chain.market.stake_info(signer.address)
    args.emit(
        info,
        f"unstaking {tokens(info['unstaking'])}, withdrawable at {when(info['unstake_available_at'])}",
    )


@app.command()
@chain_command
def withdraw(*, args: NodeArgs) -> None:
    """Withdraw earnings from the JobMarket and stake whose cooldown has passed."""
    signer, chain = args.signed()
    sender = _sender(chain, signer)
    earnings = chain.market.claimable(signer.address)
    if earnings:
        sender.transact(chain.market.job_market.functions.withdraw())
    info = chain.market.stake_info(signer.address)
    unstaked = 0
    if info["unstaking"] and info["unstake_available_at"] <= chain.market.chain_time():
        unstaked = info["unstaking"]
        sender.transact(chain.market.staking.functions.withdrawStake())
    args.emit(
        {"earnings": earnings, "stake": unstaked},
        f"withdrew {tokens(earnings)} of earnings and {tokens(unstaked)} of stake",
    )


def _read_ledger(args: NodeArgs) -> tuple[str, "Chain", "Ledger"]:
    """The provider's address, its chain and its ledger (bound to them): no password needed."""
    from neurolink.accounts.keystore import Keystore
    from node.daemon.app import connect_chain, open_ledger

    settings, config = args.context()
    address = config.account or Keystore(settings.keystore_dir).find(None).address
    chain = connect_chain(settings, config)
    return address, chain, open_ledger(settings, config, chain, address)


@app.command()
@bundled("args", NodeArgs, only=("config_path", "account", "as_json"))
def status(*, args: NodeArgs) -> None:
    """Stake, locked collateral, jobs by state, earnings and slashes (no password needed)."""
    address, chain, ledger = _read_ledger(args)
    settings, _ = args.context()
    hosts = _devices_by_host(settings)
    info = chain.market.stake_info(address)
    totals = ledger.totals()
    data = {
        "provider": address,
        "registered": chain.market.is_registered(address),
        "stake": info["staked"],
        "locked": info["locked"],
        "free": info["free"],
        "unstaking": info["unstaking"],
        "jobs": ledger.counts_by_phase(),
        # Jobs set aside after their retry budget ran out: the operator's to look at.
        "quarantined": [{"job_id": j.job_id, "reason": j.reason} for j in ledger.quarantined()],
        "earned": totals["earned"],
        "slashed": totals["slashed"],
        "claimable": chain.market.claimable(address),
        "unstake_available_at": info["unstake_available_at"],
        "cursor": ledger.cursor(),
        # Every host's devices in the registry, with their state.
        "hosts": hosts,
    }
    amounts = ("stake", "locked", "free", "unstaking", "earned", "slashed", "claimable")
    shown = {
        **data,
        **{k: tokens(int(str(data[k]))) for k in amounts},
        "unstake_available_at": when(info["unstake_available_at"]),
    }
    del shown["hosts"]
    lines = [f"{key}: {value}" for key, value in shown.items()]
    args.emit(data, "\n".join([*lines, *_hosts_text(hosts)]))


quarantine = typer.Typer(
    help="Jobs the daemon set aside after their steps kept failing: list them, give one back to it.",
    no_args_is_help=True,
)
app.add_typer(quarantine, name="quarantine")


@quarantine.command("list")
@bundled("args", NodeArgs, only=("config_path", "account", "as_json"))
def quarantine_list(*, args: NodeArgs) -> None:
    """The quarantined jobs: why, and the phase each was in."""
    _, _, ledger = _read_ledger(args)
    jobs = [
        {"job_id": j.job_id, "reason": j.reason, "quarantined_from": j.info.get("quarantined_from")}
        for j in ledger.quarantined()
    ]
    lines = [f"job {j['job_id']} (was {j['quarantined_from'] or 'new'}): {j['reason']}" for j in jobs]
    args.emit({"quarantined": jobs}, "\n".join(lines) or "no quarantined jobs")


@quarantine.command("release")
@bundled("args", NodeArgs, only=("config_path", "account", "as_json"))
def quarantine_release(
    job_id: int = typer.Argument(..., min=1, help="The quarantined job (see `node quarantine list`)."),
    *,
    args: NodeArgs,
) -> None:
    """Give a quarantined job back to the daemon (running or not): it resumes from the phase it was
    quarantined in, with a fresh retry budget. Writes only the ledger and signs nothing, so it runs
    beside the daemon without the account lock."""
    _, _, ledger = _read_ledger(args)
    phase = ledger.release(job_id)
    resumed = phase.value if phase is not None else "new"
    args.emit(
        {"job_id": job_id, "released": True, "phase": resumed},
        f"job {job_id} released: the daemon takes it up again from {resumed}",
    )


@app.command()
@bundled("args", NodeArgs, only=("config_path", "account", "password_file"))
def run(
    *,
    workers: bool = typer.Option(True, "--workers/--no-workers", help="Start the Celery device workers too."),
    fault: str = typer.Option(
        None,
        help="DEVNETS ONLY: misbehave on purpose (none, wrong-result, silent, forged-fingerprint, or a"
        " compute cheat: smaller-model, downcast-fp16, downcast-bf16, skip-layers, noise, copied-input);"
        " default: the config's, else none. Refused on any chain id but 31337 and 1337.",
    ),
    emulate: str = typer.Option(
        None,
        help="DEVNETS ONLY: compute as another device class would (none, split-k, tf32, threads,"
        " batch-order); default: the config's, else none. Refused on any chain id but 31337 and 1337.",
    ),
    metrics_port: int = typer.Option(None, help="Serve Prometheus metrics on this port."),
    json_logs: bool = typer.Option(False, "--json-logs", help="One JSON object per log line."),
    args: NodeArgs,
) -> None:
    """Run the provider daemon until SIGINT/SIGTERM."""
    from node.daemon.app import build_daemon
    from node.daemon.logs import setup_logging

    settings, config = args.context(fault=fault, emulate=emulate, metrics_port=metrics_port)
    setup_logging(as_json=json_logs or settings.log_json)
    if config.devnet_only():
        from neurolink.chain.provider import connect
        from node.daemon.daemon import refuse_off_devnet

        # Before the key is unlocked, the contracts are read or any worker starts cheating or pretending.
        refuse_off_devnet(config.devnet_only(), int(connect(settings.rpc_url).eth.chain_id))
    signer = args.unlock(settings, config)
    daemon = build_daemon(settings, config, signer)
    del signer  # the submitter holds the only reference to the key
    pool = None
    if workers:
        from node.worker.pool import WorkerPool

        pool = WorkerPool(settings, slots=config.devices, extra_env=config.worker_env())
        pool.start()
        pool.wait_ready()
    signal.signal(signal.SIGTERM, lambda *_: daemon.request_stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.request_stop())
    daemon.start()
    try:
        daemon.run()
    finally:
        daemon.stop()
        if pool is not None:
            pool.stop()
        logging.shutdown()
