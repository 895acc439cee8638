"""The provider-node test bench: node.localnet's network, hosts and daemons, plus a private Redis broker.

Everything is real: contracts compiled and deployed on anvil, Celery workers on a Redis server started
for this session (so tests may restart it), the embedded content store shared by requester and nodes.
"""

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
    RedisServer,
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
