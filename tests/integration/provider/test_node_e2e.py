"""Three provider nodes on a real anvil, real Celery workers and the embedded content store.

One module-wide set of nodes serves every test: a single-replica job is picked up and paid, a k=3 job
settles with the expected payouts, and jobs a node cannot run are skipped with the reason in the log.
"""

from collections.abc import Iterator

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    RedisServer,
    benchmark_spec,
    create_job,
    make_provider,
    net_of,
    poisoned_spec,
    stop_all,
    tip_of,
    wait_settled,
    wait_until,
)

from neurolink.devnet.anvil import free_port
from neurolink.protocol.views import read_job

pytestmark = pytest.mark.integration

PRICE = 10**15  # per GPU-second: 10 GPU-seconds cost 0.01 token
METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def providers(network: Network, host: Host) -> list[ProviderHome]:
    return [make_provider(network, host, index, price=PRICE) for index in (2, 3, 4)]


@pytest.fixture(scope="module")
def nodes(providers: list[ProviderHome]) -> Iterator[list[NodeProcess]]:
    # The first node also serves Prometheus metrics.
    metrics = ["--metrics-port", str(METRICS_PORT)]
    processes = [
        NodeProcess(p, "--no-workers", *(metrics if i == 0 else [])) for i, p in enumerate(providers)
    ]
    yield processes
    stop_all(processes)


def _balances(network: Network, providers: list[ProviderHome]) -> list[int]:
    return [network.token.functions.balanceOf(p.address).call() for p in providers]


def _wait_three_shares(
    network: Network,
    providers: list[ProviderHome],
    nodes: list[NodeProcess],
    *,
    before: list[int],
    payment: int,
    what: str,
) -> None:
    """Every provider withdrew its third of the net payment; the one that concluded also the tip."""
    share, tip = net_of(network, payment) // 3, tip_of(network, payment)
    wait_until(
        lambda: (
            sorted(a - b for a, b in zip(_balances(network, providers), before, strict=True))
            == [share, share, share + tip]
        ),
        30,
        what,
        process=nodes,
    )


def test_a_job_from_a_wallet_is_run_and_paid(
    network: Network, providers: list[ProviderHome], nodes: list[NodeProcess], host: Host
) -> None:
    before = _balances(network, providers)
    payment = 3 * TOKEN
    job_id = create_job(network, benchmark_spec(1, seed=11), host, payment=payment)
    wait_settled(network, job_id, 120, f"job {job_id} settled", process=nodes)
    # Exactly one node claimed; its reveal settled the job, so it is also tipped from the fee. It
    # withdraws (no threshold) and keeps its stake.
    net = net_of(network, payment) + tip_of(network, payment)
    wait_until(
        lambda: sum(_balances(network, providers)) - sum(before) == net,
        30,
        "withdrawal",
        process=nodes,
    )
    gains = [after - b for after, b in zip(_balances(network, providers), before, strict=True)]
    assert sorted(gains) == [0, 0, net]
    winner = providers[gains.index(net)]
    assert network.staking.functions.stakeInfoOf(winner.address).call()[1] == 0, "collateral released"


def test_three_nodes_settle_a_k3_job_with_the_expected_payouts(
    network: Network, providers: list[ProviderHome], nodes: list[NodeProcess], host: Host
) -> None:
    before = _balances(network, providers)
    stakes = [network.staking.functions.stakeOf(p.address).call() for p in providers]
    payment = 6 * TOKEN
    job_id = create_job(network, benchmark_spec(3, seed=12), host, payment=payment, replicas=3)
    wait_settled(network, job_id, 180, f"job {job_id} settled", process=nodes)
    tipped = "three withdrawals (the last revealer tipped for settling)"
    _wait_three_shares(network, providers, nodes, before=before, payment=payment, what=tipped)
    slots = network.market.functions.getSlots(job_id).call()
    assert {s[0] for s in slots} == {p.address for p in providers}
    assert len({s[4] for s in slots}) == 1, "all three revealed the same digest"
    assert [network.staking.functions.stakeOf(p.address).call() for p in providers] == stakes, (
        "nobody slashed"
    )


def test_a_poisoned_job_settles_as_an_error_result_and_pays_everyone(
    network: Network, providers: list[ProviderHome], nodes: list[NodeProcess], host: Host
) -> None:
    """A dataset that is not safetensors fails the same way on every node: the three commit and
    reveal the canonical error record, the job settles with it, all are paid, nobody is slashed."""
    from neurolink.content import LocalStore, cid_to_digest
    from neurolink.protocol.error_result import ErrorResult

    store = LocalStore(host.content)
    spec = poisoned_spec(host)
    before = _balances(network, providers)
    stakes = [network.staking.functions.stakeOf(p.address).call() for p in providers]
    payment = 6 * TOKEN
    job_id = create_job(network, spec, host, payment=payment, replicas=3)
    wait_settled(network, job_id, 180, f"poisoned job {job_id} settled", process=nodes)
    record = ErrorResult.for_code("InvalidJob")
    assert record is not None
    expected = cid_to_digest(store.put_bytes(record.to_bytes()))
    assert bytes(network.market.functions.resultOf(job_id).call()) == expected, "the error is the result"
    _wait_three_shares(
        network, providers, nodes, before=before, payment=payment, what="three paid withdrawals"
    )
    assert [network.staking.functions.stakeOf(p.address).call() for p in providers] == stakes, (
        "nobody slashed"
    )


def test_jobs_the_nodes_cannot_run_are_skipped_with_the_reason_logged(
    network: Network, providers: list[ProviderHome], nodes: list[NodeProcess], host: Host
) -> None:
    too_many = create_job(network, benchmark_spec(1, seed=13), host, gpu_count=4)
    underpaid = create_job(network, benchmark_spec(1, seed=14), host, payment=PRICE * 10 - 1)
    malformed = create_job(network, b'{"version": 1, "workload": {"kind": "mine-bitcoin"}}', host)
    expected = {
        too_many: "needs 4 devices, node has 1",
        underpaid: "below the price",
        malformed: "spec unusable: SpecError",
    }

    def skipped_everywhere() -> bool:
        for node in nodes:
            reasons = {
                e.get("job_id"): e.get("reason", "") for e in node.logs() if e["msg"] == "skipping job"
            }
            if not all(text in reasons.get(job, "") for job, text in expected.items()):
                return False
        return True

    wait_until(skipped_everywhere, 30, "every node to log why it skips each job", process=nodes)
    for job_id in expected:
        assert read_job(network.market, job_id).claimed == 0, f"job {job_id} was claimed"


def test_no_private_key_reaches_a_log_or_the_broker(
    providers: list[ProviderHome], nodes: list[NodeProcess], redis_server: RedisServer
) -> None:
    from neurolink.devnet.accounts import dev_account

    # The node logs, the workers' logs, and the broker's append-only file, which holds every task sent.
    files = [p.log_path for p in providers] + sorted((providers[0].home / "logs").glob("*"))
    files += sorted(p for p in redis_server.folder.rglob("*") if p.is_file())
    assert any("appendonly" in p.name for p in files) and len(files) > 4
    assert any(b"neurolink.run_rank" in p.read_bytes() for p in files), "the broker saw the job tasks"
    for provider in providers:
        key = dev_account(provider.index).key.hex().removeprefix("0x").encode()
        for path in files:
            data = path.read_bytes().lower()
            assert key not in data, f"a private key is in {path}"


def test_metrics_endpoint_reports_jobs_earnings_and_lag(
    network: Network, providers: list[ProviderHome], nodes: list[NodeProcess]
) -> None:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as response:
            text = response.read().decode()
        values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                values[sample.name + (f"{{{label}}}" if label else "")] = sample.value
        return values

    # The k=3 job of the earlier test settled with every node in it, this one included.
    wait_until(
        lambda: scrape().get("neurolink_node_jobs{phase=settled}", 0) >= 1, 30, "settled jobs in metrics"
    )
    values = scrape()
    assert values["neurolink_node_earned_tokens"] > 0
    assert values["neurolink_node_slashed_tokens"] == 0
    assert values["neurolink_node_device_busy_seconds"] > 0
    assert values["neurolink_node_jobs{phase=skipped}"] >= 3
    assert values["neurolink_node_chain_head_block"] > 0
    assert 0 <= values["neurolink_node_chain_lag_blocks"] <= 5
    assert values["neurolink_node_claimable_tokens"] == 0, "earnings were withdrawn"
