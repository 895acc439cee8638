"""Issue 11's attacks played on a localnet against real provider nodes, each measured from balances on chain.

Honest providers are `neurolink node run` processes (node.localnet); the attackers — a requester with
puppet providers, a bot, a copier, a deviating provider — are accounts driven from here, except the
partial-fill deviator, a node with `--fault wrong-result`. Each attack runs one k = 3 job. Every party's
worth is its wallet balance plus its stake plus what JobMarket owes it, read at one block before the job
and one after it closed; compute is charged at the honest providers' price for every replica a party
computed. docs/PROTOCOL.md ("Attacks played against nodes") explains each row.
"""

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

from node.localnet import (
    TOKEN,
    WINDOW,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    fund_gas,
    make_provider,
    poisoned_spec,
    stop_all,
    wait_until,
)

if TYPE_CHECKING:
    from eth_typing import HexStr

    from neurolink.chain.tx import TxSender
    from neurolink.protocol.views import JobPhase, JobStatus, SlotView

PAYMENT = 6 * TOKEN
COLLATERAL = 2 * TOKEN  # P/k, the Python default
PRICE = 5 * 10**16  # honest providers' price per GPU-second
GPU_SECONDS = 10  # declared per replica, so one replica costs PRICE x GPU_SECONDS = 0.5 token
HONEST_STAKE = 900  # tokens per honest provider; with the Sybils' stakes the bot's share is about 0.1
SYBIL_STAKE = 120  # tokens: Staking's minimum provider stake (100) and room for ten lost collaterals
MAINNET_WIDTH = 1  # JobMarket's default sortition width (devnets deploy with 255: everyone drawn)
# Dev account indices, clear of the ones the other provider tests use.
REQUESTER, ATTACKER = 39, 40
PUPPETS = (41, 42)
BOTS = (43, 44, 45)
HONEST = (46, 47, 48)
DEVIATOR = 49


@dataclass(frozen=True)
class Outcome:
    """One attack's measured result; `allowed` names the docs/PROTOCOL.md reason when a profit or an
    honest loss is expected."""

    attack: str
    attacker_profit: int
    honest_loss: int
    requester_loss: int
    attacker_slots: int
    job_result: str
    allowed: str | None = None
    detail: str = ""

    @property
    def pays(self) -> bool:
        """The attack paid (or hurt the honest) where the protocol says it must not."""
        return (self.attacker_profit > 0 or self.honest_loss > 0) and self.allowed is None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "pays": self.pays}


class Actor:
    """An attacker's account: claims what the draw gives it, commits and reveals whatever digest it likes."""

    def __init__(self, network: Network, index: int) -> None:
        from neurolink.chain.tx import TxSender
        from neurolink.devnet.accounts import dev_account

        self.network = network
        self.sender: TxSender = TxSender(network.w3, dev_account(index))
        self._opened: dict[int, tuple[bytes, bytes, bytes]] = {}

    @property
    def address(self) -> str:
        return self.sender.address

    def claim(self, job_id: int) -> bool:
        """Claim a free slot this account is drawn for now; False if none (or another was faster)."""
        from neurolink.chain.errors import TransactionRevertedError
        from neurolink.protocol.errors import NotDrawnError
        from neurolink.protocol.sortition import claim_drawn_slot
        from node.daemon.daemon import REDRAW

        try:
            claim_drawn_slot(self.sender, self.network.market, self.network.staking, job_id)
        except NotDrawnError:
            return False
        except TransactionRevertedError as exc:
            if exc.error_name in REDRAW:  # another account was faster, or the draw moved on
                return False
            raise
        return True

    def commit(self, job_id: int, digest: bytes, fingerprint: bytes = bytes(32)) -> None:
        """Commit to `digest` (and, for a tolerant job, `fingerprint`; exact jobs reveal zero)."""
        from neurolink.protocol.commitment import commitment, new_salt

        salt = new_salt()
        market = self.network.market
        value = commitment(
            job_id,
            self.address,
            digest,
            salt,
            chain_id=self.network.w3.eth.chain_id,
            market=market.address,
            fingerprint=fingerprint,
        )
        self.sender.transact(market.functions.commit(job_id, value))
        self._opened[job_id] = (digest, fingerprint, salt)

    def reveal(self, job_id: int) -> None:
        digest, fingerprint, salt = self._opened[job_id]
        self.sender.transact(self.network.market.functions.reveal(job_id, digest, fingerprint, salt))


@dataclass
class Arena:
    """The deployed network, its honest nodes and the attackers' accounts, shared by every attack."""

    network: Network
    host: Host
    honest: list[ProviderHome]
    deviator: ProviderHome
    nodes: list[NodeProcess] = field(default_factory=list)

    @property
    def honest_addresses(self) -> list[str]:
        return [p.address for p in self.honest]

    def ledger_digest(self, provider: ProviderHome, job_id: int) -> str | None:
        from node.daemon.ledger import Ledger

        row = Ledger(provider.ledger_path).job(job_id)
        return None if row is None else row.digest


def setup(network: Network, host: Host) -> Arena:
    """Honest providers (one of them tier 1) staked and their nodes started; the attackers registered and
    staked before any job exists, so the draw weighs their stake like anyone's."""
    honest = [
        make_provider(network, host, index, stake_tokens=HONEST_STAKE, price=PRICE, tier=1 if i == 0 else 0)
        for i, index in enumerate(HONEST)
    ]
    for index in PUPPETS:
        make_provider(network, host, index, stake_tokens=SYBIL_STAKE, tier=1)
    for index in BOTS:
        make_provider(network, host, index, stake_tokens=SYBIL_STAKE)
    deviator = make_provider(network, host, DEVIATOR, stake_tokens=SYBIL_STAKE, price=PRICE, tier=1)
    for index in (REQUESTER, ATTACKER):
        # Tokens for every job up front: a faucet drip inside an attack would count as its profit.
        sender = Actor(network, index).sender
        fund_gas(network, sender.address)
        sender.transact(network.token.functions.faucet())
    arena = Arena(network, host, honest, deviator)
    arena.nodes = [NodeProcess(p, "--no-workers") for p in honest]
    _wait_started(arena.nodes)
    return arena


def _wait_started(nodes: list[NodeProcess]) -> None:
    wait_until(
        lambda: all(any(e["msg"] == "node started" for e in n.logs()) for n in nodes),
        120,
        "the nodes to start",
        process=nodes,
    )


@contextlib.contextmanager
def arena(network: Network, host: Host) -> Iterator[Arena]:
    ready = setup(network, host)
    try:
        yield ready
    finally:
        stop_all(ready.nodes)


# -- measuring -----------------------------------------------------------------------------------------


def worth(network: Network, address: str, block: int) -> int:
    """Wallet balance, stake (locked included) and what JobMarket owes `address`, at `block`."""
    return int(
        network.token.functions.balanceOf(address).call(block_identifier=block)
        + network.staking.functions.stakeOf(address).call(block_identifier=block)
        + network.market.functions.claimable(address).call(block_identifier=block)
    )


@dataclass(frozen=True)
class Play:
    """What one attack did: its job, who attacked, whether the requester was one of them, who computed."""

    job_id: int
    attackers: Sequence[str]
    requester: str
    requester_attacks: bool
    attacker_computed: int = 0
    allowed: Callable[["Books"], str | None] = lambda books: None
    detail: str = ""


@dataclass(frozen=True)
class Books:
    """The job's end state as the attack's rules read it."""

    result: str
    attacker_slots: int
    quorum: int
    attacker_profit: int


def measure(arena: Arena, name: str, before: int, play: Play) -> Outcome:
    """Balances at `before` and now, once the job is closed and every honest node recorded it."""
    from neurolink.protocol.views import JobStatus, read_job, read_slots

    network, job_id = arena.network, play.job_id
    job = read_job(network.market, job_id)
    wait_until(lambda: all(_recorded(p, job_id) for p in arena.honest), 60, "the nodes to record the outcome")
    after = int(network.w3.eth.block_number)
    slots = read_slots(network.market, job_id)
    cost = PRICE * GPU_SECONDS
    honest_loss = 0
    for provider in arena.honest:
        computed = cost if arena.ledger_digest(provider, job_id) else 0
        gain = worth(network, provider.address, after) - worth(network, provider.address, before)
        honest_loss += max(computed - gain, 0)
    attackers = {a.lower() for a in play.attackers}
    profit = sum(worth(network, a, after) - worth(network, a, before) for a in play.attackers)
    profit -= play.attacker_computed * cost
    honest_digests = {s.digest for s in slots if s.provider in arena.honest_addresses and s.revealed}
    winning = bytes(network.market.functions.resultOf(job_id).call())
    correct = job.status is JobStatus.SETTLED and winning in honest_digests
    requester_loss = 0
    if not play.requester_attacks and not correct:
        requester_loss = max(
            worth(network, play.requester, before) - worth(network, play.requester, after), 0
        )
    books = Books(
        result=_result_name(network, job_id, job.status),
        attacker_slots=sum(1 for s in slots if s.provider.lower() in attackers),
        quorum=job.quorum,
        attacker_profit=profit,
    )
    allowed = play.allowed(books) if profit > 0 or honest_loss > 0 else None
    return Outcome(
        name,
        profit,
        honest_loss,
        requester_loss,
        books.attacker_slots,
        books.result,
        allowed,
        play.detail,
    )


def _recorded(provider: ProviderHome, job_id: int) -> bool:
    """The node has no step left on the job: it never saw it, skipped it, or its outcome is in."""
    from node.daemon.ledger import TERMINAL, Ledger

    row = Ledger(provider.ledger_path).job(job_id)
    return row is None or row.phase in TERMINAL


def _result_name(network: Network, job_id: int, status: "JobStatus") -> str:
    from neurolink.protocol.views import JobStatus

    if status is not JobStatus.FAILED:
        return str(status.name.lower())
    (event,) = network.market.events.JobFailed().get_logs(from_block=0, argument_filters={"jobId": job_id})
    return "failed: " + ("no quorum" if int(event["args"]["reason"]) == 1 else "under-claimed")


# -- playing -------------------------------------------------------------------------------------------


def _job(arena: Arena, spec: bytes, requester: int, **params: Any) -> int:
    return create_job(
        arena.network,
        spec,
        arena.host,
        requester=requester,
        payment=PAYMENT,
        replicas=3,
        collateral=COLLATERAL,
        max_gpu_seconds=GPU_SECONDS,
        **params,
    )


def _phase(arena: Arena, job_id: int) -> "JobPhase":
    from neurolink.protocol.views import read_phase

    return read_phase(arena.network.market, job_id)


def _closed(arena: Arena, job_id: int) -> bool:
    from neurolink.protocol.contracts import closed

    return closed(_phase(arena, job_id))


def _wait_closed(arena: Arena, job_id: int, timeout: float = 120) -> None:
    wait_until(lambda: _closed(arena, job_id), timeout, f"job {job_id} to close", process=arena.nodes)


def _reveal_when_open(arena: Arena, job_id: int, actors: Sequence[Actor]) -> None:
    """Reveal for each actor once the round opens (every slot committed), unless the job closed first."""
    from neurolink.protocol.views import JobPhase

    wait_until(
        lambda: _phase(arena, job_id) in (JobPhase.REVEALING, JobPhase.SETTLEABLE) or _closed(arena, job_id),
        120,
        f"job {job_id}'s reveals to open",
        process=arena.nodes,
    )
    for actor in actors:
        if not _closed(arena, job_id):
            actor.reveal(job_id)


def _claim_first(arena: Arena, job_id: int, actors: Sequence[Actor]) -> list[Actor]:
    """The actors claim distinct slots they are drawn for, together in the first block the seed
    allows, before any node can react; returns those whose claim went through."""
    from neurolink.protocol.sortition import drawn_free_slots

    network = arena.network
    # No block is mined while the draws are read: a node reacting to JobCreated meanwhile (it takes
    # tens of ms) has its claim wait in the pool and land after the actors' in their block.
    with _automine_off(network):
        taken: set[int] = set()
        calls = []
        for actor in actors:
            slots = drawn_free_slots(network.market, network.staking, job_id, actor.address)
            free = [slot for slot in slots if slot not in taken]
            if free:
                taken.add(free[0])
                calls.append((actor, network.market.functions.claim(job_id, free[0])))
        receipts = _in_one_block(network, calls)
    return [actor for (actor, _), r in zip(calls, receipts, strict=True) if r["status"] == 1]


@contextlib.contextmanager
def _automine_off(network: Network) -> Iterator[None]:
    """Inside the block, anvil mines only on `evm_mine`."""
    provider = network.w3.provider
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        yield
    finally:
        provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def _in_one_block(network: Network, calls: Sequence[tuple[Actor, Any]]) -> list[Any]:
    """Send each actor's call and mine them in one block (automine off meanwhile); their receipts."""
    w3 = network.w3
    with _automine_off(network):
        # A fixed gas limit: an estimate runs each call alone, against a block without the others. A
        # high tip: a node's claim that reaches the mempool before the block is mined is ordered after
        # these (anvil orders a block by fee), as an attacker outbidding nodes would have it.
        fees = {"maxFeePerGas": 200 * 10**9, "maxPriorityFeePerGas": 100 * 10**9}
        sent = [
            actor.sender.broadcast(
                actor.sender.sign({**actor.sender.build(fn), "gas": 1_000_000}, fn.fn_name, fees=fees)
            )
            for actor, fn in calls
        ]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return [w3.eth.wait_for_transaction_receipt(cast("HexStr", s.tx_hash)) for s in sent]


def _address(index: int) -> str:
    from neurolink.devnet.accounts import dev_account

    return str(dev_account(index).address)


def _junk(label: str) -> bytes:
    from eth_utils.crypto import keccak

    return keccak(text=f"neurolink attack: {label}")


def _captured(books: Books) -> str | None:
    """A bot the draw gave a quorum wins the job with junk: paid, and the honest slots burned."""
    if books.attacker_slots >= books.quorum:
        return "drawn for a quorum of slots (capture table)"
    return None


def _captured_burns(books: Books) -> str | None:
    """A requester whose puppets the draw gave a quorum burns the honest slot, but gains nothing."""
    return _captured(books) if books.attacker_profit <= 0 else None


def _never_filled(books: Books) -> str | None:
    """A job that never fills loses the early compute; nobody gains it."""
    if books.result == "failed: under-claimed" and books.attacker_profit <= 0:
        return "a job that never fills: the early compute is lost, nobody gains it"
    return None


def atomic_create_and_claim(arena: Arena) -> tuple[int, Play]:
    """The requester creates the job and its puppets claim slots 0 and 1 in the same block; then honest
    nodes run it."""
    from web3.logs import DISCARD

    from neurolink.content import LocalStore, cid_to_digest
    from neurolink.protocol.params import JobParams, Requirements

    network = arena.network
    w3 = network.w3
    requester, puppets = Actor(network, ATTACKER), [Actor(network, i) for i in PUPPETS]
    before = int(w3.eth.block_number)
    # The allowance and the spec in the store first; then create and claim in one block.
    spec = benchmark_spec(3, seed=secrets.randbelow(2**62))
    digest = cid_to_digest(LocalStore(arena.host.content).put_bytes(spec))
    requester.sender.transact(network.token.functions.approve(network.market.address, PAYMENT))
    params = JobParams(
        spec_digest=digest,
        payment=PAYMENT,
        replicas=3,
        collateral=COLLATERAL,
        requirements=Requirements(gpu_count=1, max_gpu_seconds=GPU_SECONDS),
        claim_window=WINDOW,
        commit_window=WINDOW,
        reveal_window=WINDOW,
    )
    job_id = int(network.market.functions.nextJobId().call())
    calls = [(requester, network.market.functions.createJob(params.as_tuple()))]
    calls += [(p, network.market.functions.claim(job_id, slot)) for slot, p in enumerate(puppets)]
    receipts = _in_one_block(network, calls)
    (created,) = network.market.events.JobCreated().process_receipt(receipts[0], errors=DISCARD)
    if int(created["args"]["jobId"]) != job_id:
        raise RuntimeError(f"expected job {job_id}, created {created['args']['jobId']}")
    block = int(receipts[0]["blockNumber"])
    same_block = all(int(r["blockNumber"]) == block for r in receipts)
    # Puppets whose claim went through (none, unless the seed rule broke) play the puppet quorum.
    holders = [p for p, r in zip(puppets, receipts[1:], strict=True) if r["status"] == 1]
    junk = _junk("atomic")
    for puppet in holders:
        puppet.commit(job_id, junk)
    _reveal_when_open(arena, job_id, holders)
    why = {_claim_error(network, job_id, p.address, block) for p in puppets}
    detail = (
        f"createJob and {len(puppets)} puppet claims in block {block} (same block: {same_block}); "
        f"claims that went through: {len(holders)} ({', '.join(sorted(why))}); the nodes then ran the job"
    )
    _wait_closed(arena, job_id)
    return before, Play(job_id, [requester.address, *(p.address for p in puppets)], requester.address, True,
                        detail=detail)  # fmt: skip


def _claim_error(network: Network, job_id: int, address: str, block: int) -> str:
    """The custom error a claim hits in `block` (the creation block), decoded."""
    from web3.exceptions import ContractLogicError

    from neurolink.chain.revert import logic_error

    try:
        network.market.functions.claim(job_id, 0).call({"from": address}, block_identifier=block)
    except ContractLogicError as exc:
        return str(logic_error("claim", exc).error_name)
    return "no revert"


def puppet_quorum(arena: Arena) -> tuple[int, Play]:
    """The requester's two puppets take two slots first and reveal the same junk digest."""
    network = arena.network
    puppets = [Actor(network, i) for i in PUPPETS]
    before = int(network.w3.eth.block_number)
    job_id = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), ATTACKER)
    holders = _claim_first(arena, job_id, puppets)
    junk = _junk("puppet quorum")
    for puppet in holders:
        puppet.commit(job_id, junk)
    _reveal_when_open(arena, job_id, holders)
    _wait_closed(arena, job_id)
    return before, Play(
        job_id,
        [_address(ATTACKER), *(p.address for p in puppets)],
        _address(ATTACKER),
        True,
        allowed=_captured_burns,
        detail="puppets claim in the block after creation (devnet width: everyone drawn), commit junk",
    )


def all_slots_bot(arena: Arena) -> tuple[int, Play]:
    """A bot with three addresses (9 % of the stake) claims every slot the draw gives it, at the
    mainnet sortition width, and reveals one junk digest; an honest requester pays."""
    network = arena.network
    bots = [Actor(network, i) for i in BOTS]
    owner = _owner(network)
    width = int(network.market.functions.sortitionWidth().call())
    owner.transact(network.market.functions.setSortitionWidth(MAINNET_WIDTH))
    try:
        before = int(network.w3.eth.block_number)
        job_id = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), REQUESTER)
        holders: list[Actor] = []
        with _blocks_every_second(network):
            while not _read_filled(network, job_id) and not _closed(arena, job_id):
                holders += [b for b in bots if b not in holders and b.claim(job_id)]
                time.sleep(0.1)
    finally:
        owner.transact(network.market.functions.setSortitionWidth(width))
    junk = _junk("bot")
    for bot in holders:
        bot.commit(job_id, junk)
    _reveal_when_open(arena, job_id, holders)
    _wait_closed(arena, job_id)
    return before, Play(
        job_id,
        [b.address for b in bots],
        _address(REQUESTER),
        False,
        allowed=_captured,
        detail=f"sortition width {MAINNET_WIDTH}; bot stake share "
        f"{len(BOTS) * SYBIL_STAKE}/{_total_stake_tokens(network)} tokens",
    )


def _read_filled(network: Network, job_id: int) -> bool:
    from neurolink.protocol.views import read_job

    return read_job(network.market, job_id).filled


def _total_stake_tokens(network: Network) -> int:
    return int(network.staking.functions.totalProviderStake().call()) // TOKEN


def _owner(network: Network) -> "TxSender":
    from neurolink.chain.tx import TxSender
    from neurolink.devnet.accounts import dev_account

    return TxSender(network.w3, dev_account(0))


@contextlib.contextmanager
def _blocks_every_second(network: Network) -> Iterator[None]:
    """A block a second, as on a chain with traffic: the draw widens with block time, and on-demand
    mining would otherwise leave the latest block's time behind."""
    stop = threading.Event()

    def mine() -> None:
        while not stop.wait(1.0):
            network.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    thread = threading.Thread(target=mine, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def forced_noquorum(arena: Arena) -> tuple[int, Play]:
    """The requester's puppets hold k - q + 1 = 2 slots and reveal two different junk digests."""
    network = arena.network
    puppets = [Actor(network, i) for i in PUPPETS]
    before = int(network.w3.eth.block_number)
    job_id = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), ATTACKER)
    holders = _claim_first(arena, job_id, puppets)
    for n, puppet in enumerate(holders):
        puppet.commit(job_id, _junk(f"no quorum {n}"))
    _reveal_when_open(arena, job_id, holders)
    _wait_closed(arena, job_id)
    requester = _address(ATTACKER)
    return before, Play(
        job_id,
        [requester, *(p.address for p in puppets)],
        requester,
        True,
        detail="puppets claim first and reveal two different junk digests",
    )


def partial_fill_deviator(arena: Arena) -> tuple[int, Play]:
    """A tier-1 k = 3 job only two providers can take: one honest node and a deviator node
    (`--fault wrong-result`); it never fills and fails at its claim deadline."""
    from neurolink.protocol.devnet import advance_time

    network = arena.network
    deviator = NodeProcess(arena.deviator, "--no-workers", "--fault", "wrong-result")
    try:
        _wait_started([deviator])
        before = int(network.w3.eth.block_number)
        job_id = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), REQUESTER, tier=1)
        both = [arena.honest[0].address, arena.deviator.address]
        wait_until(
            lambda: (
                {s.provider for s in _slots(network, job_id)} >= set(both)
                and all(_committed(network, job_id, a) for a in both)
            ),
            120,
            "the two tier-1 providers to claim and commit",
            process=[*arena.nodes, deviator],
        )
        advance_time(network.w3, WINDOW + 1)  # past the claim deadline: the job can never fill
        _wait_closed(arena, job_id)
        wait_until(lambda: _recorded(arena.deviator, job_id), 60, "the deviator to record the outcome")
    finally:
        deviator.stop()
    computed = 1 if arena.ledger_digest(arena.deviator, job_id) else 0
    return before, Play(
        job_id,
        [arena.deviator.address],
        _address(REQUESTER),
        False,
        attacker_computed=computed,
        allowed=_never_filled,
        detail="2 of 3 slots claimable (tier 1); advanced past the claim deadline",
    )


def _slots(network: Network, job_id: int) -> list["SlotView"]:
    from neurolink.protocol.views import read_slots

    return read_slots(network.market, job_id)


def _committed(network: Network, job_id: int, address: str) -> bool:
    return any(s.provider == address and s.committed for s in _slots(network, job_id))


def copied_digest(arena: Arena) -> tuple[int, Play]:
    """A job settles and its digest is public; the requester re-checks it with a fresh nonce
    (`job submit --recheck`); a copier takes a slot of the re-check and reveals the old digest."""
    network = arena.network
    first = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), REQUESTER)
    _wait_closed(arena, first)
    public = bytes(network.market.functions.resultOf(first).call())
    copier = Actor(network, BOTS[0])
    before = int(network.w3.eth.block_number)
    # What `job submit --recheck` does: the same workload with a fresh random nonce as its seed.
    job_id = _job(arena, benchmark_spec(3, seed=secrets.randbelow(2**62)), REQUESTER)
    holders = _claim_first(arena, job_id, [copier])
    for actor in holders:
        actor.commit(job_id, public)
    _reveal_when_open(arena, job_id, holders)
    _wait_closed(arena, job_id)
    return before, Play(
        job_id,
        [copier.address],
        _address(REQUESTER),
        False,
        detail=f"copier reveals job {first}'s winning digest in its re-check (fresh seed)",
    )


def poisoned_job(arena: Arena) -> tuple[int, Play]:
    """The requester submits a job whose dataset is not safetensors, hoping honest nodes are slashed."""
    network = arena.network
    before = int(network.w3.eth.block_number)
    job_id = _job(arena, poisoned_spec(arena.host), ATTACKER)
    _wait_closed(arena, job_id)
    requester = _address(ATTACKER)
    return before, Play(job_id, [requester], requester, True, detail="dataset input is not safetensors")


PLAYS: dict[str, Callable[[Arena], tuple[int, Play]]] = {
    "atomic-create-and-claim": atomic_create_and_claim,
    "puppet-quorum": puppet_quorum,
    "all-slots-bot": all_slots_bot,
    "forced-noquorum": forced_noquorum,
    "partial-fill-deviator": partial_fill_deviator,
    "copied-digest": copied_digest,
    "poisoned-job": poisoned_job,
}


ATTACKS = tuple(PLAYS)


def play(arena: Arena, name: str) -> Outcome:
    """Play one attack and measure it."""
    before, done = PLAYS[name](arena)
    return measure(arena, name, before, done)


def play_all(network: Network, host: Host, names: Sequence[str] | None = None) -> list[Outcome]:
    """Set the arena up once and play each named attack in turn."""
    with arena(network, host) as ready:
        return [play(ready, name) for name in names or ATTACKS]
