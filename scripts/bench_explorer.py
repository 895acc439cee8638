"""Explorer figures: indexer lag behind the head, cold indexing throughput, API latency, dashboard load.

    .venv/bin/python scripts/bench_explorer.py [--jobs 10000] [--lag-jobs 200] [--postgres URL]

1. A fresh anvil with the contracts and one registered provider. `--jobs` k = 1 jobs are created,
   claimed and revealed (so settled) in bulk: real transactions, sent in batches of JSON-RPC
   `eth_sendTransaction` from anvil's unlocked dev accounts with automine off, 500 jobs of each
   step per mined block. That is how 10,000 jobs' events (six per job) exist within minutes.
2. Cold start: a fresh database indexes the whole chain; events per second, SQLite and PostgreSQL.
3. API latency over HTTP (uvicorn in its own process, keep-alive client, 100 requests each after 20
   warm-up): the job list (`/api/v1/jobs?limit=50`), a random job page (`/api/v1/jobs/{id}`), and the
   overview's aggregates (`/api/v1/stats`, `/api/v1/prices`), on both databases.
4. Dashboard first load in Debian's Chromium (fresh browser context each of 5 loads, SQLite): time
   from the navigation's start to the overview rendered (counters, chart, latest jobs), with the
   HTML's arrival and DOMContentLoaded from Navigation Timing.
5. Lag: with automine back on and an indexer following the head (polling every 0.1 s, SQLite),
   `--lag-jobs` jobs run one at a time (create, claim, reveal); for every transaction, the seconds
   from its receipt to its event stored in the database.
Prints one JSON object and writes it, with commit, date and machine, to docs/bench/explorer.json.
"""

import argparse
import json
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench_sandbox import ROOT, provenance

from coordinator.explorer.db import make_engine, migrate
from coordinator.explorer.indexer import Indexer
from neurolink.devnet.anvil import free_port, rpc_call, start_anvil
from node.localnet import TOKEN, Network, deploy_network

BATCH = 500
ZERO = b"\0" * 32
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "p50": round(statistics.median(ms), 2), "p95": round(pct(ms, 0.95), 2),
        "min": round(min(ms), 2), "max": round(max(ms), 2), "n": len(ms),
    }  # fmt: skip


def batch_rpc(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        replies = sorted(json.loads(response.read()), key=lambda r: r["id"])
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, first: {errors[0]}")
    return [r["result"] for r in replies]


class Nonces:
    """Local nonces: with automine off, anvil would hand every queued transaction the same one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.next: dict[str, int] = {}

    def tx(self, sender: str, to: str, data: str, gas: int) -> tuple[str, list[Any]]:
        if sender not in self.next:
            self.next[sender] = int(rpc_call(self.url, "eth_getTransactionCount", [sender, "pending"]), 16)
        nonce = self.next[sender]
        self.next[sender] += 1
        params = {"from": sender, "to": to, "data": data, "gas": hex(gas), "nonce": hex(nonce)}
        return "eth_sendTransaction", [params]


def _data(call: Any) -> str:
    return str(call._encode_transaction_data())


def bulk_jobs(network: Network, jobs: int, requester: str, provider: str) -> None:
    """Create, claim and reveal `jobs` k = 1 jobs, BATCH per step per block (automine off)."""
    from neurolink.protocol.params import JobParams, Requirements

    url, market = network.rpc_url, network.market
    rng = random.Random(14)
    tx = Nonces(url).tx
    rpc_call(url, "evm_setAutomine", [False])
    rpc_call(url, "evm_setBlockGasLimit", [hex(2_000_000_000)])
    next_id = 1  # a fresh chain: job ids start at 1
    for start in range(0, jobs, BATCH):
        count = min(BATCH, jobs - start)
        creates = []
        for _ in range(count):
            params = JobParams(
                spec_digest=secrets.token_bytes(32), payment=rng.randint(5, 50) * TOKEN // 100,
                replicas=1, collateral=TOKEN,
                requirements=Requirements(gpu_count=1, max_gpu_seconds=rng.randint(10, 100)),
                claim_window=3600, commit_window=3600, reveal_window=3600,
            )  # fmt: skip
            data = _data(market.functions.createJob(params.as_tuple()))
            creates.append(tx(requester, market.address, data, 600_000))
        batch_rpc(url, creates)
        rpc_call(url, "evm_mine")
        ids = range(next_id, next_id + count)
        claims = [tx(provider, market.address, _data(market.functions.claim(j, 0)), 400_000) for j in ids]
        batch_rpc(url, claims)
        rpc_call(url, "evm_mine")
        reveals = [
            tx(
                provider,
                market.address,
                _data(market.functions.reveal(j, secrets.token_bytes(32), ZERO, ZERO)),
                600_000,
            )
            for j in ids
        ]
        batch_rpc(url, reveals)
        rpc_call(url, "evm_mine")
        next_id += count
    rpc_call(url, "evm_setAutomine", [True])
    settled = market.functions.getJob(next_id - 1).call()[6]
    assert settled == 2, f"the last bulk job is not settled (status {settled})"


def setup_accounts(network: Network) -> tuple[str, str]:
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account
    from neurolink.protocol.params import Capabilities

    requester, provider = TxSender(network.w3, dev_account(1)), TxSender(network.w3, dev_account(2))
    for sender in (requester, provider):
        sender.transact(network.token.functions.faucet())
    requester.transact(network.token.functions.approve(network.market.address, 2**255))
    provider.transact(network.token.functions.approve(network.staking.address, 2**255))
    provider.transact(network.staking.functions.register(Capabilities(1, 16384, 1, 10**15).as_tuple()))
    provider.transact(network.staking.functions.stake(9_000 * TOKEN))
    return requester.address, provider.address


def index_cold(url: str, network: Network) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    indexer = Indexer(
        engine, network.w3, job_market=network.market.address, staking=network.staking.address, start_block=0
    )
    indexer.watcher.start()
    started = time.perf_counter()
    events = indexer.poll()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds, 1)}


def serve(db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = (
        "import sys, uvicorn\n"
        "from coordinator.explorer.api import create_app\n"
        "from coordinator.explorer.db import make_engine\n"
        "uvicorn.run(create_app(make_engine(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]),"
        " log_level='warning')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, db_url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=1).close()
            return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the API did not start")


def api_latency(base: str, jobs: int, requests: int = 100) -> dict[str, Any]:
    import httpx

    rng = random.Random(7)
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base) as client:
        paths = {
            "job_list": lambda: "/api/v1/jobs?limit=50",
            "job_page": lambda: f"/api/v1/jobs/{rng.randint(1, jobs)}",
            # What the overview asks besides the list: aggregates over every job.
            "stats": lambda: "/api/v1/stats",
            "prices": lambda: "/api/v1/prices?bucket=60",
        }
        for name, path in paths.items():
            for _ in range(20):
                client.get(path()).raise_for_status()  # warm-up
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(path()).raise_for_status()
                samples.append(time.perf_counter() - started)
            out[name] = summary_ms(samples)
    return out


def first_load(base: str, loads: int = 5) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[float]] = {"rendered": [], "html_received": [], "dom_content_loaded": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        for _ in range(loads):
            context = browser.new_context()
            page = context.new_page()
            page.goto(base + "/")
            page.wait_for_selector("#jobs-table tbody tr[data-job]")
            page.wait_for_selector("#price-chart canvas")
            # Navigation Timing, from the navigation's start: when the overview was on screen.
            timing = page.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [performance.now(), n.responseEnd, n.domContentLoadedEventEnd]; })()"
            )
            for key, value in zip(samples, timing, strict=True):
                samples[key].append(value / 1000)
            context.close()
        browser.close()
    return {key: summary_ms(values) for key, values in samples.items()}


def lag_run(network: Network, jobs: int, requester: str, provider: str) -> dict[str, Any]:
    """Seconds from each transaction's receipt to its event in the database, indexer polling at 0.1 s."""
    from sqlalchemy import select
    from web3.logs import DISCARD

    from coordinator.explorer.models import Event
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account
    from neurolink.protocol.params import JobParams, Requirements

    folder = Path(tempfile.mkdtemp(prefix="explorer-lag-"))
    engine = make_engine(f"sqlite:///{folder / 'lag.sqlite'}")
    migrate(engine)
    # From the head on: the lag is measured on a live chain, not on the backlog (that is index_cold).
    indexer = Indexer(
        engine,
        network.w3,
        job_market=network.market.address,
        staking=network.staking.address,
        start_block=network.w3.eth.block_number + 1,
    )
    indexer.watcher.start()
    stop = threading.Event()
    worker = threading.Thread(target=indexer.run, args=(stop, 0.1), daemon=True)
    worker.start()
    req, prov = TxSender(network.w3, dev_account(1)), TxSender(network.w3, dev_account(2))
    market = network.market
    samples = []

    def stored(tx_hash: str) -> bool:
        with engine.connect() as conn:
            query = select(Event.seq).where(Event.tx_hash == tx_hash).limit(1)
            return conn.execute(query).first() is not None

    def timed(receipt: Any) -> None:
        seen = time.perf_counter()
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        while not stored(tx_hash):
            time.sleep(0.002)
        samples.append(time.perf_counter() - seen)

    try:
        for _ in range(jobs):
            params = JobParams(
                spec_digest=secrets.token_bytes(32), payment=TOKEN // 10, replicas=1, collateral=TOKEN,
                requirements=Requirements(gpu_count=1, max_gpu_seconds=10),
                claim_window=3600, commit_window=3600, reveal_window=3600,
            )  # fmt: skip
            receipt = req.transact(market.functions.createJob(params.as_tuple()))
            timed(receipt)
            (event,) = market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
            job_id = event["args"]["jobId"]
            timed(prov.transact(market.functions.claim(job_id, 0)))
            timed(prov.transact(market.functions.reveal(job_id, secrets.token_bytes(32), ZERO, ZERO)))
    finally:
        stop.set()
        worker.join(timeout=5)
    return {"transactions": len(samples), **summary_ms(samples)}


def fresh_postgres(url: str) -> tuple[str, str]:
    import psycopg

    name = f"explorer_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--lag-jobs", type=int, default=200)
    parser.add_argument(
        "--postgres", default=POSTGRES, help="Admin URL; the bench makes and drops a database of its own."
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "explorer.json")
    args = parser.parse_args()

    result: dict[str, Any] = {**provenance(), "jobs": args.jobs, "lag_jobs": args.lag_jobs}
    folder = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    with start_anvil() as anvil:
        network = deploy_network(anvil)
        requester, provider = setup_accounts(network)
        started = time.perf_counter()
        bulk_jobs(network, args.jobs, requester, provider)
        result["generate_s"] = round(time.perf_counter() - started, 1)
        result["blocks"] = network.w3.eth.block_number
        pg_url, pg_name = fresh_postgres(args.postgres)
        try:
            databases = {"sqlite": f"sqlite:///{folder / 'explorer.sqlite'}", "postgresql": pg_url}
            result["index_cold"] = {name: index_cold(url, network) for name, url in databases.items()}
            result["api"] = {}
            for name, url in databases.items():
                process, base = serve(url)
                try:
                    result["api"][name] = api_latency(base, args.jobs)
                    if name == "sqlite":
                        result["dashboard_first_load"] = first_load(base)
                finally:
                    process.terminate()
                    process.wait(timeout=10)
        finally:
            drop_postgres(args.postgres, pg_name)
        result["lag"] = lag_run(network, args.lag_jobs, requester, provider)
    text = json.dumps(result, indent=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
