"""Soak with chaos: a devnet of three provider nodes takes a steady stream of jobs while things break.

    .venv/bin/python scripts/soak.py --jobs 200 --chaos --json [--seed 1] [--rate 40] [--out FILE]

Runs its own devnet in a temporary folder, every part a real process: anvil with a state file, a
private redis-server as the Celery broker, a content gateway (`neurolink content serve`) serving the
requesters' store, three hosts each with a Celery device worker and a provider daemon (`neurolink node
run --no-workers`), and the keeper. Four wallets submit `--jobs` jobs at `--rate` jobs a minute (every
fourth job with three replicas). The first quarter runs calm; with `--chaos` a seeded thread then
injects, at random moments while the rest are submitted (and until every kind was injected once):

- chain: anvil stopped (it writes its state file) and started again from it on the same port;
- broker: the private redis-server restarted (never the machine's shared Redis at 6379);
- content: the content gateway stopped for 10 s;
- daemon: a provider daemon killed with SIGKILL and started again, as its supervisor would;
- worker: a Celery worker killed with SIGKILL and the host's workers started again;
- drop-tx: a provider's transaction taken out of anvil's mempool (anvil_dropTransaction).

Then it waits for every job to end and checks: every job settled, failed or expired; no node claimed
a job twice; no (honest) provider slashed; tokens conserved to the wei (wallets + claimable + escrow of
open jobs + stakes + burned = supply, and each contract holds what it owes); every node's ledger agrees
with the chain. Prints one JSON line with the verdict and the measurements (settled jobs per minute
calm and under chaos, submit-to-end p50/p95, the daemons' RSS); `--out` writes the full report with the
samples and the fault log. Exits 1 on any violation.
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, free_port, rpc_call, start_anvil
from neurolink.devnet.network import child_env, neurolink_command
from neurolink.processes import stop_processes
from node.daemon.errors import is_transient
from node.localnet import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    RedisServer,
    benchmark_spec,
    create_job,
    deploy_network,
    make_host,
    make_provider,
    start_workers,
)

T = TypeVar("T")
PROVIDERS = 3
FIRST_PROVIDER = 2  # dev accounts 2, 3, 4
REQUESTERS = (5, 6, 7, 8)
KEEPER = 9
FAULTS = ("chain", "broker", "content", "daemon", "worker", "drop-tx")
CONTENT_OUTAGE_S = 10.0
# Long claim windows: jobs queued behind a fault are claimed late rather than left to expire.
WINDOWS = (600, 120, 120)
PAYMENT = 2 * TOKEN
COLLATERAL = TOKEN
BLOCK_TIME = 1.0
CLOSED = ("JobSettled", "JobFailed", "JobExpired", "JobCancelled")
ACTIVE_LEDGER_PHASES = (
    "queued", "claiming", "claimed", "computing", "computed", "committing", "committed", "revealing",
    "revealed",
)  # fmt: skip


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def patient(call: Callable[[], T], what: str, timeout: float = 120.0) -> T:
    """`call()`, retried through outages (the chain or the broker restarting) for up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() > deadline:
                raise
            log(f"{what}: {type(exc).__name__}, retrying")
            time.sleep(0.5)


# -- the devnet under test -------------------------------------------------------------------------


class ContentGateway:
    """`neurolink content serve` over the requesters' store, on a fixed port so it can come back."""

    def __init__(self, home: Path, rpc_url: str) -> None:
        self.home = home
        self.rpc_url = rpc_url
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.home / "gateway.log", "ab") as out:
            self.process = subprocess.Popen(
                [*neurolink_command(), "content", "serve", "--port", str(self.port)],
                env=child_env(self.home, self.rpc_url, {}),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process])


@dataclass
class Rig:
    """Every process of the soak's devnet, and how to break and restore each of them."""

    root: Path
    anvil: Anvil
    network: Network
    redis: RedisServer
    gateway: ContentGateway
    requesters: Host
    hosts: list[Host] = field(default_factory=list)
    providers: list[ProviderHome] = field(default_factory=list)
    pools: list[Any] = field(default_factory=list)
    nodes: list[NodeProcess] = field(default_factory=list)
    # Set while anvil mines only on demand (after a drop-tx, until the next restart): see `tick_clock`.
    clock_needed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    unexpected_exits: list[dict[str, Any]] = field(default_factory=list)
    # Transactions taken out of the mempool: (sender, nonce, hash).
    dropped: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def state_file(self) -> Path:
        return self.root / "anvil-state.json"

    def provider_addresses(self) -> list[str]:
        return [p.address for p in self.providers]

    # faults: each breaks one part and brings it back as its operator would; returns what it did

    def restart_chain(self, rng: random.Random) -> str:
        self.anvil.stop()  # SIGTERM: anvil writes its state file on the way out
        time.sleep(rng.uniform(1.0, 3.0))
        self.anvil = start_anvil(
            port=self.anvil.port, state_file=self.state_file, block_time=BLOCK_TIME,
            log_file=self.root / "anvil.log",
        )  # fmt: skip
        self.network = Network.on_anvil(self.anvil, self.network)
        self.clock_needed.clear()  # started with --block-time again
        return f"anvil restarted from {self.state_file.name} on port {self.anvil.port}"

    def restart_broker(self, rng: random.Random) -> str:
        self.redis.stop()
        time.sleep(rng.uniform(0.5, 2.0))
        self.redis.start()
        return f"redis-server restarted on port {self.redis.port}"

    def pause_content(self, rng: random.Random) -> str:
        self.gateway.stop()
        time.sleep(CONTENT_OUTAGE_S)
        self.gateway.start()
        return f"content gateway down for {CONTENT_OUTAGE_S:.0f} s"

    def kill_daemon(self, rng: random.Random) -> str:
        index = rng.randrange(len(self.nodes))
        with self.lock:
            node = self.nodes[index]
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
            time.sleep(rng.uniform(0.5, 2.0))
            self.nodes[index] = NodeProcess(self.providers[index], "--no-workers")
        return f"provider {index} daemon (pid {node.process.pid}) killed with SIGKILL and restarted"

    def kill_worker(self, rng: random.Random) -> str:
        index = rng.randrange(len(self.pools))
        pool = self.pools[index]
        queue, process = next(iter(pool.processes.items()))
        process.send_signal(signal.SIGKILL)
        process.wait()
        # `neurolink node workers` exits when one of its workers dies; its supervisor starts it again.
        pool.stop()
        time.sleep(rng.uniform(0.5, 2.0))
        self.pools[index] = start_workers(self.hosts[index])
        return f"host {index} worker {queue} (pid {process.pid}) killed with SIGKILL, workers restarted"

    def drop_provider_tx(self, rng: random.Random) -> str:
        """Hold blocks back (anvil mines every 3 s), take the first provider transaction that enters the
        mempool out of it, and mine on demand again."""
        url = self.anvil.rpc_url
        providers = {a.lower() for a in self.provider_addresses()}
        rpc_call(url, "evm_setIntervalMining", [3])
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pending = rpc_call(url, "txpool_content")["pending"]
                for sender, by_nonce in pending.items():
                    if sender.lower() in providers:
                        tx = next(iter(by_nonce.values()))
                        rpc_call(url, "anvil_dropTransaction", [tx["hash"]])
                        self.dropped.append((sender, int(tx["nonce"], 16), tx["hash"]))
                        return f"dropped {tx['hash']} (nonce {int(tx['nonce'], 16)}) of {sender}"
                time.sleep(0.01)
            return "no provider transaction entered the mempool within 30 s"
        finally:
            rpc_call(url, "evm_setAutomine", [True])
            # anvil has no call back to --mixed-mining: until its next restart, `tick_clock` mines the
            # empty blocks that keep the chain's clock (every deadline) moving on a quiet chain.
            self.clock_needed.set()

    def tick_clock(self) -> None:
        if self.clock_needed.is_set():
            rpc_call(self.anvil.rpc_url, "evm_mine")

    def supervise(self) -> None:
        """Restart a daemon that exited on its own (and remember it: that is a defect)."""
        with self.lock:
            for index, node in enumerate(self.nodes):
                if node.process.poll() is not None:
                    self.unexpected_exits.append({"provider": index, "code": node.process.returncode})
                    log(f"provider {index} daemon exited with {node.process.returncode}; restarting")
                    self.nodes[index] = NodeProcess(self.providers[index], "--no-workers")

    def stop(self) -> None:
        with self.lock:
            stop_processes([n.process for n in self.nodes], timeout=30)
        for pool in self.pools:
            pool.stop()
        self.gateway.stop()
        self.redis.stop()
        self.anvil.stop()


def bring_up(root: Path) -> Rig:
    anvil = start_anvil(
        state_file=root / "anvil-state.json", block_time=BLOCK_TIME, log_file=root / "anvil.log"
    )
    network = deploy_network(anvil)
    redis = RedisServer(root / "redis")
    redis.start()
    requesters = make_host(root / "requesters", redis.url)
    gateway = ContentGateway(requesters.home, anvil.rpc_url)
    gateway.start()
    rig = Rig(root, anvil, network, redis, gateway, requesters)
    for index in range(PROVIDERS):
        host = make_host(root / f"host-{index}", redis.url, slots=1)
        host.env["NEUROLINK_CONTENT_GATEWAYS"] = gateway.url
        rig.hosts.append(host)
        rig.providers.append(make_provider(network, host, FIRST_PROVIDER + index))
        rig.pools.append(start_workers(host))
    rig.nodes = [NodeProcess(p, "--no-workers") for p in rig.providers]
    return rig


# -- load, observation and chaos -------------------------------------------------------------------


@dataclass
class Job:
    job_id: int
    phase: str  # "calm" or "chaos"
    replicas: int
    submitted: float
    ended: float | None = None
    outcome: str = ""


class Observer:
    """Follows the market's closing events from the soak's side: when each job ended, and how."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.cursor = rig.network.w3.eth.block_number
        self.ended: dict[int, tuple[float, str]] = {}

    def poll(self) -> None:
        w3, market = self.rig.network.w3, self.rig.network.market
        head = w3.eth.block_number
        if head < self.cursor:
            return
        for name in CLOSED:
            for event in market.events[name]().get_logs(from_block=self.cursor, to_block=head):
                self.ended.setdefault(int(event["args"]["jobId"]), (time.monotonic(), name))
        self.cursor = head + 1


class Chaos:
    """Injects the faults in a seeded random order (each kind once per round) at random moments."""

    def __init__(self, rig: Rig, seed: int, every: float) -> None:
        self.rig = rig
        self.rng = random.Random(seed)
        self.every = every
        self.log: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.done = threading.Event()
        self.started = time.monotonic()
        self.actions: dict[str, Callable[[random.Random], str]] = {
            "chain": rig.restart_chain,
            "broker": rig.restart_broker,
            "content": rig.pause_content,
            "daemon": rig.kill_daemon,
            "worker": rig.kill_worker,
            "drop-tx": rig.drop_provider_tx,
        }

    def every_kind_done(self) -> bool:
        return set(FAULTS) <= {entry["fault"] for entry in self.log if entry["injected"]}

    def run(self) -> None:
        try:
            while True:
                kinds = list(FAULTS)
                self.rng.shuffle(kinds)
                for kind in kinds:
                    stopping = self.stop.wait(self.rng.uniform(0.5, 1.5) * self.every)
                    if stopping and self.every_kind_done():
                        return
                    self.inject(kind)
        finally:
            self.done.set()

    def inject(self, kind: str) -> None:
        start = time.monotonic()
        log(f"fault: {kind}")
        try:
            detail = self.actions[kind](self.rng)
            injected = not detail.startswith("no ")
        except Exception as exc:  # a fault that could not be injected is reported, never fatal
            detail, injected = f"could not inject: {type(exc).__name__}: {exc}", False
        self.log.append({
            "at_s": round(start - self.started, 1), "fault": kind, "injected": injected, "detail": detail,
            "duration_s": round(time.monotonic() - start, 1),
        })  # fmt: skip
        log(f"fault {kind}: {detail}")


class Background:
    """The soak's own loops: keeper, event observer, RSS sampler, supervisor, chain clock."""

    def __init__(self, rig: Rig, observer: Observer) -> None:
        self.rig = rig
        self.observer = observer
        self.stop = threading.Event()
        self.rss: list[dict[str, Any]] = []
        self.keeper_errors: list[str] = []
        self.started = time.monotonic()
        self.threads = [
            threading.Thread(target=self._keeper, daemon=True),
            threading.Thread(target=self._every, args=(0.25, observer.poll), daemon=True),
            threading.Thread(target=self._every, args=(2.0, self._sample_rss), daemon=True),
            threading.Thread(target=self._every, args=(1.0, rig.supervise), daemon=True),
            threading.Thread(target=self._every, args=(BLOCK_TIME, rig.tick_clock), daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _every(self, interval: float, step: Callable[[], None]) -> None:
        while not self.stop.wait(interval):
            try:
                step()
            except Exception as exc:
                if not is_transient(exc):
                    log(f"{step.__name__}: {type(exc).__name__}: {exc}")

    def _keeper(self) -> None:
        from coordinator.keeper import Keeper
        from neurolink.chain.tx import TxSender

        # The same port after a restart: the keeper's connection reaches the new anvil.
        keeper = Keeper(self.rig.network, TxSender(self.rig.network.w3, dev_account(KEEPER)))
        while not self.stop.is_set():
            try:
                keeper.run(self.stop, 0.5)
            except Exception as exc:  # the keeper's own loop gives up on anything but an RPC outage
                self.keeper_errors.append(f"{type(exc).__name__}: {exc}")
                log(f"keeper: {type(exc).__name__}: {exc}; restarting it")
                keeper.sender.resync()
                self.stop.wait(1.0)

    def _sample_rss(self) -> None:
        import psutil

        at = round(time.monotonic() - self.started, 1)
        with self.rig.lock:
            pids = [node.process.pid for node in self.rig.nodes]
        for index, pid in enumerate(pids):
            try:
                rss = psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
            self.rss.append({"at_s": at, "provider": index, "pid": pid, "rss_mb": round(rss / 2**20, 1)})


def submit_jobs(rig: Rig, jobs: list[Job], count: int, *, phase: str, rate: float, seed_base: int) -> None:
    """`count` jobs at `rate` a minute, round-robin over the requesters' wallets."""
    start = time.monotonic()
    for i in range(count):
        pause = start + i * 60.0 / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        replicas = 3 if (len(jobs) + 1) % 4 == 0 else 1
        spec = benchmark_spec(replicas, seed=seed_base + len(jobs))
        requester = REQUESTERS[len(jobs) % len(REQUESTERS)]

        def create(spec: bytes = spec, requester: int = requester, replicas: int = replicas) -> int:
            return create_job(
                rig.network, spec, rig.requesters, requester=requester, payment=PAYMENT,
                replicas=replicas, collateral=COLLATERAL, windows=WINDOWS,
            )  # fmt: skip

        job_id = patient(create, f"job {len(jobs) + 1}")
        jobs.append(Job(job_id, phase, replicas, time.monotonic()))


def wait_ended(rig: Rig, observer: Observer, jobs: list[Job], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(j.job_id in observer.ended for j in jobs):
            break
        time.sleep(0.5)
    for job in jobs:
        if job.job_id in observer.ended:
            job.ended, job.outcome = observer.ended[job.job_id]


# -- the verdict ------------------------------------------------------------------------------------


def chain_events(rig: Rig) -> dict[str, list[Any]]:
    net = rig.network
    names = {"market": ("JobCreated", "JobClaimed", "JobAbandoned", *CLOSED), "staking": ("StakeSlashed",)}
    contracts = {"market": net.market, "staking": net.staking}
    return {
        name: list(contracts[where].events[name]().get_logs(from_block=0))
        for where, group in names.items()
        for name in group
    }


def check_conservation(rig: Rig, open_jobs: list[int]) -> dict[str, Any]:
    """Every token in a wallet, owed by the market, escrowed, staked or burned, against the supply; and
    each contract's balance against what it says it owes."""
    from neurolink.protocol.views import read_job

    net = rig.network
    token, staking, market = net.token.functions, net.staking.functions, net.market.functions
    accounts = [dev_account(i).address for i in range(10)]
    wallets = sum(token.balanceOf(a).call() for a in accounts)
    claimable = sum(market.claimable(a).call() for a in accounts)
    escrow = sum(read_job(net.market, j).payment for j in open_jobs)
    stakes = sum(info[0] + info[2] for info in (staking.stakeInfoOf(a).call() for a in accounts))
    burned = token.balanceOf(staking.BURN_ADDRESS().call()).call()
    supply = token.totalSupply().call()
    market_held = token.balanceOf(net.market.address).call()
    staking_held = token.balanceOf(net.staking.address).call()
    return {
        "tokens_conserved": wallets + claimable + escrow + stakes + burned == supply
        and market_held == claimable + escrow
        and staking_held == stakes,
        "supply": supply, "wallets": wallets, "claimable": claimable, "escrow": escrow, "stakes": stakes,
        "burned": burned, "market_holds": market_held, "staking_holds": staking_held,
    }  # fmt: skip


def check_ledgers(rig: Rig, events: dict[str, list[Any]]) -> tuple[list[str], int]:
    """Each node's ledger against the chain: the jobs it holds a slot in, their end, earnings and
    slashes; returns the mismatches and the number of jobs some node claimed twice."""
    from neurolink.protocol.views import read_slots
    from node.daemon.ledger import Ledger, Phase, TxStatus

    net = rig.network
    mismatches: list[str] = []
    claims = Counter((int(e["args"]["jobId"]), e["args"]["provider"]) for e in events["JobClaimed"])
    abandoned = {(int(e["args"]["jobId"]), e["args"]["provider"]) for e in events["JobAbandoned"]}
    slashed = Counter()
    for e in events["StakeSlashed"]:
        slashed[(int(e["args"]["jobId"]), e["args"]["account"])] += int(e["args"]["amount"])
    settled = {int(e["args"]["jobId"]): e["args"] for e in events["JobSettled"]}
    failed = {int(e["args"]["jobId"]): e["args"] for e in events["JobFailed"]}
    twice = {job for (job, _), n in claims.items() if n > 1}
    for index, provider in enumerate(rig.providers):
        me = provider.address
        ledger = Ledger(provider.ledger_path)
        try:
            rows = {row.job_id: row for row in ledger.jobs()}
            mined_claims = Counter(t.job_id for t in ledger.txs(status=TxStatus.MINED) if t.action == "claim")
        finally:
            ledger.close()
        twice |= {job for job, n in mined_claims.items() if n > 1}
        mine = {job for (job, who) in claims if who == me and (job, who) not in abandoned}
        for job_id, row in rows.items():
            where = f"provider {index} job {job_id}"
            if row.phase.value in ACTIVE_LEDGER_PHASES:
                mismatches.append(f"{where}: still {row.phase.value} after the job ended")
            elif row.phase is Phase.SETTLED and job_id not in mine:
                mismatches.append(f"{where}: settled in the ledger without a claim on chain")
            if row.slashed != slashed.get((job_id, me), 0):
                mismatches.append(
                    f"{where}: ledger slashed {row.slashed}, chain {slashed.get((job_id, me), 0)}"
                )
        for job_id in sorted(mine):
            row = rows.get(job_id)
            where = f"provider {index} job {job_id}"
            if row is None or row.phase is not Phase.SETTLED:
                mismatches.append(
                    f"{where}: claimed on chain, {row.phase.value if row else 'unknown'} in the ledger"
                )
                continue
            slot = next(s for s in read_slots(net.market, job_id) if s.provider == me)
            digest = "0x" + slot.digest.hex()
            if job_id in settled:
                won = slot.revealed and digest == "0x" + bytes(settled[job_id]["winningDigest"]).hex()
                expected = int(settled[job_id]["rewardPerWinner"]) if won else 0
            else:
                expected = int(failed[job_id]["paidPerRevealer"]) if slot.revealed else 0
            if row.earned != expected:
                mismatches.append(f"{where}: ledger earned {row.earned}, chain {expected}")
    return mismatches, len(twice)


def dropped_recovered(rig: Rig) -> list[dict[str, Any]]:
    """For each dropped transaction: whether the node got the same bytes mined later (it re-broadcasts
    what the chain forgot) and whether its nonce was used at all (else every later tx would be stuck)."""
    w3 = rig.network.w3
    found = []
    for sender, nonce, tx_hash in rig.dropped:
        try:
            mined = w3.eth.get_transaction_receipt(tx_hash) is not None
        except Exception as exc:  # web3 raises TransactionNotFound for an unknown hash
            if is_transient(exc):
                raise
            mined = False
        used = w3.eth.get_transaction_count(w3.to_checksum_address(sender)) > nonce
        found.append({"hash": tx_hash, "same_tx_mined": mined, "nonce_used": used})
    return found


def wait_ledgers_quiet(rig: Rig, timeout: float) -> None:
    """Give the daemons time to read the last closing events (their ledgers have no active job)."""
    from node.daemon.ledger import Ledger

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = 0
        for provider in rig.providers:
            ledger = Ledger(provider.ledger_path)
            try:
                busy += sum(1 for j in ledger.jobs(active_only=True)) + len(ledger.pending_events())
            finally:
                ledger.close()
        if busy == 0:
            return
        time.sleep(1.0)


def phase_figures(jobs: list[Job]) -> dict[str, Any]:
    """Settled jobs per minute (first submission to last end) and submit-to-end latency of settled jobs."""
    if not jobs:
        return {"jobs": 0}
    ended = [j for j in jobs if j.ended is not None]
    latencies = sorted(j.ended - j.submitted for j in ended if j.outcome == "JobSettled" and j.ended)
    span = (max(j.ended for j in ended if j.ended) - min(j.submitted for j in jobs)) if ended else 0.0
    settled = len(latencies)
    figures: dict[str, Any] = {
        "jobs": len(jobs),
        "settled": settled,
        "span_s": round(span, 1),
        "settled_per_min": round(60 * settled / span, 1) if span else 0.0,
    }
    if latencies:
        quantiles = (
            statistics.quantiles(latencies, n=20, method="inclusive") if settled > 1 else latencies * 19
        )
        figures |= {"p50_s": round(statistics.median(latencies), 2), "p95_s": round(quantiles[18], 2)}
    return figures


def rss_figures(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Per daemon process that lived through at least ten samples: first, last and peak RSS, and the
    growth from the median of its second fifth of samples (imports done, first jobs run) to the median
    of its last fifth."""
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for s in samples:
        by_pid.setdefault(s["pid"], []).append(s)
    processes = []
    for pid, series in by_pid.items():
        if len(series) < 10:
            continue
        values = [s["rss_mb"] for s in series]
        fifth = len(values) // 5
        warm, tail = statistics.median(values[fifth : 2 * fifth]), statistics.median(values[-fifth:])
        processes.append({
            "provider": series[0]["provider"], "pid": pid, "samples": len(values),
            "lived_s": round(series[-1]["at_s"] - series[0]["at_s"], 1), "first_mb": values[0],
            "warm_mb": warm, "last_mb": values[-1], "peak_mb": max(values),
            "growth_pct": round(100 * (tail - warm) / warm, 1),
        })  # fmt: skip
    return {"processes": processes, "max_growth_pct": max((p["growth_pct"] for p in processes), default=None)}


def verdict(rig: Rig, jobs: list[Job], chaos: Chaos | None, background: Background) -> dict[str, Any]:
    from neurolink.protocol.views import read_phase

    events = patient(lambda: chain_events(rig), "reading events")
    outcomes = Counter(j.outcome for j in jobs)
    created = {int(e["args"]["jobId"]) for e in events["JobCreated"]}
    ended_on_chain = {int(e["args"]["jobId"]) for name in CLOSED for e in events[name]}
    lost = sorted(created - ended_on_chain)
    conservation = check_conservation(rig, lost)
    mismatches, claimed_twice = check_ledgers(rig, events)
    slashed = {e["args"]["account"] for e in events["StakeSlashed"]}
    honest_slashed = len(slashed & set(rig.provider_addresses()))
    recovered = patient(lambda: dropped_recovered(rig), "reading nonces")
    report: dict[str, Any] = {
        "jobs": len(jobs),
        "jobs_on_chain": len(created),
        "settled": outcomes["JobSettled"],
        "failed": outcomes["JobFailed"],
        "expired": outcomes["JobExpired"],
        "lost": len(lost),
        "lost_jobs": {j: read_phase(rig.network.market, j).name.lower() for j in lost[:20]},
        "claimed_twice": claimed_twice,
        "honest_slashed": honest_slashed,
        "abandoned_slots": len(events["JobAbandoned"]),
        "tokens_conserved": conservation["tokens_conserved"],
        "ledgers_agree": not mismatches,
        "ledger_mismatches": mismatches[:20],
        "unexpected_daemon_exits": len(rig.unexpected_exits),
        "dropped_txs": recovered,
        "keeper_errors": background.keeper_errors[:10],
        "faults_injected": sum(1 for f in chaos.log if f["injected"]) if chaos else 0,
        "faults": dict(Counter(f["fault"] for f in chaos.log if f["injected"])) if chaos else {},
        "calm": phase_figures([j for j in jobs if j.phase == "calm"]),
        "chaos": phase_figures([j for j in jobs if j.phase == "chaos"]),
        "rss": rss_figures(background.rss),
    }
    violations = [
        name
        for name, bad in (
            ("lost", report["lost"] > 0),
            ("claimed_twice", claimed_twice > 0),
            ("honest_slashed", honest_slashed > 0),
            ("tokens_conserved", not report["tokens_conserved"]),
            ("ledgers_agree", bool(mismatches)),
            ("unexpected_daemon_exits", bool(rig.unexpected_exits)),
            ("dropped_tx_left_a_nonce_gap", not all(d["nonce_used"] for d in recovered)),
        )
        if bad
    ]
    return {"soak": "ok" if not violations else "violated", "violations": violations, **report,
            "conservation": conservation}  # fmt: skip


# -- the run ------------------------------------------------------------------------------------------


def soak(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    started = time.monotonic()
    log(f"bringing the devnet up in {root}")
    rig = bring_up(root)
    observer = Observer(rig)
    background = Background(rig, observer)
    background.start()
    jobs: list[Job] = []
    chaos: Chaos | None = None
    try:
        log(f"devnet up in {time.monotonic() - started:.0f} s")
        calm = max(args.jobs // 4, 1) if args.chaos else args.jobs
        submit_jobs(rig, jobs, calm, phase="calm", rate=args.rate, seed_base=args.seed * 1_000_000)
        wait_ended(rig, observer, jobs, args.drain_timeout)
        log(f"calm phase: {calm} jobs ended" if all(j.ended for j in jobs) else "calm phase: jobs left open")
        if args.chaos:
            chaos = Chaos(rig, args.seed, args.fault_every)
            thread = threading.Thread(target=chaos.run, daemon=True)
            thread.start()
            submit_jobs(
                rig, jobs, args.jobs - calm, phase="chaos", rate=args.rate, seed_base=args.seed * 1_000_000
            )
            chaos.stop.set()
            chaos.done.wait()
            log(f"chaos over: {len(chaos.log)} faults")
            wait_ended(rig, observer, jobs, args.drain_timeout)
        wait_ledgers_quiet(rig, 60)
        report = verdict(rig, jobs, chaos, background)
    finally:
        background.close()
        rig.stop()
    report["seed"] = args.seed
    report["rate_per_min"] = args.rate
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["fault_log"] = chaos.log if chaos else []
    report["rss_samples"] = background.rss
    return report


# The JSON line keeps the verdict and the figures; the samples and logs go to --out.
LONG_FIELDS = ("fault_log", "rss_samples", "conservation")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="jobs in all (a quarter calm with --chaos)")
    parser.add_argument("--chaos", action="store_true", help="inject faults while the rest are submitted")
    parser.add_argument("--seed", type=int, default=1, help="seed of the faults' order and moments")
    parser.add_argument("--rate", type=float, default=40.0, help="jobs submitted per minute")
    parser.add_argument("--fault-every", type=float, default=20.0, help="mean seconds between faults")
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="longest wait for jobs to end")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--out", type=Path, help="write the full report (samples, fault log) here")
    parser.add_argument("--keep", action="store_true", help="keep the devnet's folder (logs, ledgers)")
    args = parser.parse_args()
    if args.jobs < 1 or args.rate <= 0:
        parser.error("--jobs and --rate must be positive")

    # Where the figures come from, taken before the run: the code and the machine's load it ran on.
    from neurolink.bench import BenchRun

    run = BenchRun("soak")
    root = Path(tempfile.mkdtemp(prefix="neurolink-soak-"))
    # SIGTERM unwinds like Ctrl-C: every process of the devnet is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    os.environ["NEUROLINK_HOME"] = str(root / "soak")
    try:
        report = soak(args, root)
    finally:
        if args.keep:
            log(f"devnet folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        full = {**run.provenance(), **report}
        args.out.write_text(json.dumps(full, indent=1) + "\n")
    line = {k: v for k, v in report.items() if k not in LONG_FIELDS}
    print(json.dumps(line))
    return 0 if report["soak"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
