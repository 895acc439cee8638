"""The keeper against a real anvil: due jobs are expired or failed and refunded, nothing early."""

from collections.abc import Iterator

import pytest

from coordinator.keeper import Keeper
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.config import load_settings
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, start_anvil
from neurolink.devnet.bootstrap import deploy_devnet, fund, register_provider
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.params import Capabilities
from neurolink.protocol.plan import DEVNET_TUNING
from neurolink.protocol.sortition import claim_drawn_slot
from neurolink.protocol.views import JobPhase

PAYMENT = 10**18
COLLATERAL = 10**17


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Anvil, Contracts]]:
    with start_anvil() as node:
        w3 = connect(node.rpc_url)
        settings = load_settings(home=tmp_path_factory.mktemp("home"))
        contracts = Contracts.bind(w3, deploy_devnet(w3, settings))
        for index in (1, 2):
            fund(contracts, dev_account(index))
        # Above the 100-token minimum; a determinism class, as exact multi-replica jobs require.
        caps = Capabilities(
            gpu_count=1, vram_mb=16_384, tier=0, price_per_gpu_second=0, device_class=b"\x0c" * 32
        )
        register_provider(contracts, dev_account(2), 200 * 10**18, caps)
        yield node, contracts


def _create(contracts: Contracts, replicas: int = 1) -> int:
    requester = TxSender(contracts.w3, dev_account(1))
    requester.transact(contracts.token.functions.approve(contracts.market.address, PAYMENT))
    window = DEVNET_TUNING.min_window
    # An exact job without a re-run reserve: (verification, tolerance, deviceClass, reserve) last.
    params = (
        b"\x11" * 32,
        PAYMENT,
        replicas,
        0,
        COLLATERAL,
        (1, 0, 0, 60),
        window,
        window,
        window,
        0,
        0,
        bytes(32),
        0,
    )
    job_id = contracts.next_job_id()
    requester.transact(contracts.market.functions.createJob(params))
    return job_id


def _warp(node: Anvil, seconds: int) -> None:
    from neurolink.protocol.devnet import advance_time

    advance_time(connect(node.rpc_url), seconds)


def test_unclaimed_job_expires_once_due_and_is_refunded(chain: tuple[Anvil, Contracts]) -> None:
    node, contracts = chain
    keeper = Keeper(contracts, TxSender(contracts.w3, dev_account(5)))
    job_id = _create(contracts)
    assert keeper.tick() == [], "nothing is due before the claim deadline"
    before = contracts.market.functions.claimable(dev_account(1).address).call()

    _warp(node, DEVNET_TUNING.min_window + 1)
    [action] = keeper.tick()
    assert (action.job_id, action.outcome) == (job_id, "expired")
    assert contracts.phase(job_id) == JobPhase.EXPIRED
    assert contracts.market.functions.claimable(dev_account(1).address).call() == before + PAYMENT
    assert keeper.tick() == [], "a closed job is never settled twice"


def test_under_claimed_job_fails_and_frees_the_collateral(chain: tuple[Anvil, Contracts]) -> None:
    node, contracts = chain
    keeper = Keeper(contracts, TxSender(contracts.w3, dev_account(5)))
    job_id = _create(contracts, replicas=3)
    claim_drawn_slot(TxSender(contracts.w3, dev_account(2)), contracts.market, contracts.staking, job_id)
    free = contracts.staking.functions.freeStakeOf(dev_account(2).address).call()

    _warp(node, DEVNET_TUNING.min_window + 1)
    [action] = keeper.tick()
    assert (action.job_id, action.outcome) == (job_id, "failed")
    assert contracts.staking.functions.freeStakeOf(dev_account(2).address).call() == free + COLLATERAL


def test_keeper_started_late_still_finds_old_due_jobs(chain: tuple[Anvil, Contracts]) -> None:
    node, contracts = chain
    first = _create(contracts)
    second = _create(contracts)
    _warp(node, DEVNET_TUNING.min_window + 1)
    late = Keeper(contracts, TxSender(contracts.w3, dev_account(6)))
    assert sorted(a.job_id for a in late.tick() if a.outcome == "expired")[-2:] == [first, second]
