"""The composition root: settings, keys and contracts in; a wired Daemon or a chain handle out."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.config import Settings
from node.daemon.config import NodeConfig, deploy_block, require

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from node.daemon.daemon import Daemon
    from node.daemon.ledger import Ledger
    from node.daemon.market import Market


@dataclass(frozen=True)
class Chain:
    w3: "Web3"
    market: "Market"


def connect_chain(settings: Settings, config: NodeConfig) -> Chain:
    from neurolink.chain.provider import connect
    from neurolink.protocol.contracts import Contracts
    from node.daemon.market import Market

    w3 = connect(settings.rpc_url)
    market, staking = require(config.job_market, "job_market"), require(config.staking, "staking")
    contracts = Contracts.of(w3, job_market=market, staking=staking)
    # Not the config's start_block: a node may start watching after jobs it will still be drawn for
    # were created (a re-run of an older job), and their seeds are older than that.
    return Chain(w3, Market(contracts, first_block=deploy_block(settings, market)))


def open_ledger(settings: Settings, config: NodeConfig, chain: Chain, account: str) -> "Ledger":
    """The node's ledger, bound to this chain, JobMarket and account (a mismatch is refused)."""
    from node.daemon.ledger import Ledger

    ledger = Ledger(config.ledger_file(settings))
    ledger.bind(
        chain_id=str(chain.w3.eth.chain_id),
        job_market=chain.market.job_market.address,
        account=account,
    )
    return ledger


def build_daemon(settings: Settings, config: NodeConfig, account: "LocalAccount") -> "Daemon":
    from neurolink.chain.heads import NewHeads
    from neurolink.chain.watcher import Watcher
    from node.daemon.capabilities import check_device_class, detect, device_class
    from node.daemon.daemon import WATCHED_EVENTS, Daemon
    from node.daemon.dispatcher import JobDispatcher
    from node.daemon.metrics import NodeMetrics
    from node.daemon.policy import Capacity, Policy
    from node.daemon.submitter import Submitter
    from node.worker.sandbox import require_for_chain

    chain = connect_chain(settings, config)
    require_for_chain(settings, chain.w3.eth.chain_id)
    hardware = detect(settings, config)
    # Before the ledger is opened or any worker starts: a node in a class it is not registered for
    # would claim exact jobs across classes.
    registered = bytes(chain.market.staking.functions.deviceClassOf(account.address).call())
    check_device_class(device_class(hardware, config), registered, account.address)
    ledger = open_ledger(settings, config, chain, account.address)
    capacity = Capacity(
        devices=hardware.devices,
        vram_mb=hardware.vram_mb,
        tier=config.tier,
        max_runtime_s=config.max_runtime_s,
        price_per_gpu_second=config.price_per_gpu_second,
        deadline_margin_s=config.deadline_margin_s,
        jobs_per_device=config.jobs_per_device,
    )
    return Daemon(
        ledger=ledger,
        market=chain.market,
        watcher=Watcher(
            chain.w3,
            ledger,
            [chain.market.job_market],
            WATCHED_EVENTS,
            confirmations=None if settings.confirmations == "auto" else settings.confirmations,
            start_block=config.start_block,
        ),
        submitter=Submitter(chain.w3, account, ledger, replace_after=config.replace_after),
        policy=Policy(capacity, account.address),
        dispatcher=JobDispatcher(settings, account.address),
        metrics=NodeMetrics(config.metrics_host, config.metrics_port)
        if config.metrics_port is not None
        else None,
        heads=NewHeads(settings.rpc_url),
        fault=config.fault,
        device_class=registered,
        devnet_only=config.devnet_only(),
        withdraw_threshold=config.withdraw_threshold,
        poll_interval=config.poll_interval,
    )
