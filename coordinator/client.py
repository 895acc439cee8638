"""The requester's SDK: quote, submit (upload, escrow), status, wait, result (fetch, verify), cancel, list."""

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator.errors import (
    ContentUnreachableError,
    CoordinatorError,
    JobNotFoundError,
    JobWaitTimeoutError,
    ResultUnavailableError,
)
from coordinator.pricing import JobShape, MarketSnapshot, PricingParams, Quote, quote
from neurolink.chain.deployments import for_chain
from neurolink.chain.provider import connect, poll_latency
from neurolink.chain.tx import TxSender
from neurolink.protocol.contracts import Contracts, closed, due_at
from neurolink.protocol.params import (
    JobParams,
    Requirements,
    VerificationMode,
    default_collateral,
    escalation_reserve,
)
from neurolink.protocol.tiers import tier_level
from neurolink.protocol.views import JobPhase, JobView, Verification

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract import Contract
    from web3.types import TxReceipt

    from neurolink.chain.heads import NewHeads
    from neurolink.config import Settings
    from neurolink.content import ContentStore
    from neurolink.spec import JobSpec

# eth_getLogs ranges public RPCs accept; a devnet answers any range, a testnet often caps near 10k.
LOG_CHUNK = 5_000
# The quote's market view reads at most this many recent jobs: bounded work whatever the history.
MARKET_LOOKBACK_JOBS = 256
PERMIT_VALIDITY_S = 3_600
# Beyond the declared runtime, the commit window leaves providers this long to fetch, upload and commit.
COMMIT_MARGIN_S = 60
# Stands in for a file input's CID while its spec is vetted before upload.
UNSTORED_CID = "bafkreiunstoredinputunstoredinputunstoredinputunstoredin"


@dataclass(frozen=True)
class SubmittedJob:
    """A job the client created: its id, what it escrowed and where its spec lives."""

    job_id: int
    tx_hash: str
    spec_cid: str
    payment: int
    collateral: int
    replicas: int
    used_permit: bool
    verification: str = "exact"
    # Escrowed beside the payment to pay a re-run on disagreement; what it does not pay comes back.
    reserve: int = 0

    def as_dict(self) -> dict[str, Any]:
        amounts = {name: str(getattr(self, name)) for name in ("payment", "collateral", "reserve")}
        return {**asdict(self), **amounts}


@dataclass(frozen=True)
class JobState:
    """A job as the chain shows it now."""

    job_id: int
    phase: JobPhase
    record: JobView
    providers: tuple[str, ...] = ()
    result_digest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "job_id": self.job_id,
            "phase": self.phase.name.lower(),
            "requester": r.requester,
            "payment": str(r.payment),
            "collateral": str(r.collateral),
            "replicas": r.replicas,
            "quorum": r.quorum,
            "claimed": r.claimed,
            "committed": r.committed,
            "revealed": r.revealed,
            "claim_deadline": r.claim_deadline,
            "commit_deadline": r.commit_deadline,
            "reveal_deadline": r.reveal_deadline,
            "spec_digest": "0x" + r.spec_digest.hex(),
            "providers": list(self.providers),
            "result_digest": self.result_digest,
        }


@dataclass(frozen=True)
class JobResult:
    """A settled job's result, fetched and checked against its digest (tolerant jobs: and its fingerprint)."""

    job_id: int
    cid: str
    digest: str
    path: Path
    size: int
    # Scalars of a JSON result, names and shapes of a safetensors one.
    figures: dict[str, Any] = field(default_factory=dict)
    # metrics.json beside the result (coordinator.jobmetrics) and what it holds.
    metrics_path: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "metrics_path": str(self.metrics_path)}


@dataclass(frozen=True)
class SubmitOptions:
    """How to escrow a job; None picks the default (quote, payment/k, windows from the market's minimum)."""

    payment: int | None = None
    collateral: int | None = None
    window: int | None = None
    quorum: int = 0
    permit: bool | None = None  # None: permit when the token supports ERC-2612
    extra_inputs: Mapping[str, Path] = field(default_factory=dict)
    # An independent re-check: a random spec seed (the job nonce), so the spec's CID and a seeded
    # workload's result differ from every earlier job's and no public digest can be copied.
    recheck: bool = False


def job_params(
    spec: "JobSpec",
    spec_digest: bytes,
    *,
    payment: int,
    collateral: int,
    quorum: int = 0,
    windows: tuple[int, int, int],
    rerun_possible: bool = True,
) -> JobParams:
    """createJob's parameters for `spec`: its requirements and verification, and the re-run reserve its
    `escalate` asks for (payment * (2k + 1) / k for 3 <= k <= 5, else none) when a re-run is possible."""
    req, check = spec.requirements, spec.verification
    return JobParams(
        spec_digest=spec_digest,
        payment=payment,
        replicas=spec.replicas,
        quorum=quorum,
        collateral=collateral,
        requirements=Requirements(req.gpu_count, req.min_vram_mib, tier_level(req.tier), req.max_runtime_s),
        claim_window=windows[0],
        commit_window=windows[1],
        reveal_window=windows[2],
        verification=VerificationMode[check.mode.upper()],
        tolerance=check.tolerance or 0,
        device_class=check.device_class_bytes,
        reserve=escalation_reserve(payment, spec.replicas, check.escalate and rerun_possible),
    )


def recheck_seed() -> int:
    """A random job nonce for `--recheck`, in the spec's seed range (1 .. 2**63 - 1)."""
    import secrets

    return 1 + secrets.randbelow(2**63 - 1)


class Client:
    """One requester on one network: `Client(settings, account)`; reads need no account."""

    def __init__(
        self,
        settings: "Settings",
        account: "LocalAccount | None" = None,
        *,
        network: str | int | None = None,
        w3: "Web3 | None" = None,
        pricing: PricingParams | None = None,
    ) -> None:
        self.settings = settings
        self.w3 = w3 or connect(settings.rpc_url)
        self.deployment = for_chain(self.w3, settings, network)
        self.contracts = Contracts.bind(self.w3, self.deployment)
        self.account = account
        self.pricing = pricing or PricingParams()
        self._sender = TxSender(self.w3, account) if account is not None else None
        self._store: ContentStore | None = None
        # New blocks, for `wait` (started on first use): set at each one, while subscribed.
        self._news = threading.Event()
        self._heads: NewHeads | None = None

    # ------------------------------------------------------------------------------ helpers

    @property
    def sender(self) -> TxSender:
        if self._sender is None:
            raise CoordinatorError("this command sends a transaction: give an account (--account)")
        return self._sender

    @property
    def store(self) -> "ContentStore":
        if self._store is None:
            from neurolink.content import open_store

            self._store = open_store(self.settings)
        return self._store

    def _logs(
        self, contract: "Contract", event: str, from_block: int | None = None, **filters: Any
    ) -> Iterator[Any]:
        """Decoded logs of `contract`'s `event` (default: since the deployment), in chunks RPCs accept."""
        from_block = self.deployment.deploy_block if from_block is None else from_block
        head = self.w3.eth.block_number
        for start in range(from_block, head + 1, LOG_CHUNK):
            yield from contract.events[event]().get_logs(
                from_block=start, to_block=min(start + LOG_CHUNK - 1, head), argument_filters=filters or None
            )

    def _record(self, job_id: int) -> JobView:
        record = self.contracts.job(job_id)
        if record.requester == "0x" + "00" * 20:
            raise JobNotFoundError(f"no job {job_id} on JobMarket {self.deployment.job_market.address}")
        return record

    # ------------------------------------------------------------------------------ quote

    def market(self) -> MarketSnapshot:
        """Open jobs, free providers and recent job times, read from the chain (bounded work)."""
        newest = self.contracts.next_job_id() - 1
        recent_ids = range(max(1, newest - MARKET_LOOKBACK_JOBS + 1), newest + 1)
        open_jobs = sum(1 for j in recent_ids if self.contracts.phase(j) == JobPhase.CLAIMING)
        free = sum(1 for p in self._registered_providers() if self._has_free_stake(p))
        now = int(time.time())
        window_start = now - self.pricing.baseline_window_s
        created = self._logs(self.contracts.market, "JobCreated", self._block_since(window_start))
        blocks = sorted({e["blockNumber"] for e in created})[-MARKET_LOOKBACK_JOBS:]
        times = [t for b in blocks if (t := int(self.w3.eth.get_block(b)["timestamp"])) >= window_start]
        return MarketSnapshot(open_jobs, free, times, now)

    def _registered_providers(self) -> set[str]:
        return {e["args"]["provider"] for e in self._logs(self.contracts.staking, "ProviderRegistered")}

    def _has_free_stake(self, provider: str) -> bool:
        staking = self.contracts.staking.functions
        return bool(staking.isRegistered(provider).call()) and int(staking.freeStakeOf(provider).call()) > 0

    def _block_since(self, timestamp: int) -> int:
        """A block no later than `timestamp`, guessed from the average block time (then filtered exactly),
        so a quote on a long-lived chain reads a day of logs, not its whole history."""
        first = self.deployment.deploy_block
        head = self.w3.eth.get_block("latest")
        number, now = int(head["number"]), int(head["timestamp"])
        if number <= first:
            return first
        per_block = max((now - int(self.w3.eth.get_block(first)["timestamp"])) / (number - first), 1e-3)
        # Twice the guessed distance: irregular block times err towards reading more, never less.
        return max(first, number - int(2 * (now - timestamp) / per_block))

    def quote(self, spec: "JobSpec") -> Quote:
        """The formula's price for `spec` in the current market, with its factors."""
        req = spec.requirements
        shape = JobShape(req.max_runtime_s, req.gpu_count, spec.replicas, tier_level(req.tier))
        return quote(shape, self.market(), self.pricing)

    # ------------------------------------------------------------------------------ submit

    def load_spec(self, path: Path, extra_inputs: Mapping[str, Path] | None = None) -> "JobSpec":
        """Read a spec file; inputs given as file paths (relative to the spec) are uploaded first."""
        from neurolink.specfile import read_spec

        return read_spec(path, extra_inputs).upload(self.store)

    def submit(self, spec: "JobSpec", options: SubmitOptions | None = None) -> SubmittedJob:
        """Store the spec, escrow the payment (permit or approve) and create the job."""
        from neurolink.content import cid_to_digest

        options = options or SubmitOptions()
        if options.recheck:
            spec = spec.model_copy(update={"seed": recheck_seed()})
        spec_cid = self.store.put_bytes(spec.canonical_json())
        self.store.pin(spec_cid)
        # Before any money moves: a job whose content no provider can fetch would only expire.
        self.check_reachable([spec_cid, *spec.inputs.values()])
        payment = options.payment if options.payment is not None else self.quote(spec).price
        # Default: the replica's share of the payment, raised to the market's minimum collateral.
        minimum = int(self.contracts.market.functions.minCollateral().call())
        collateral = (
            options.collateral
            if options.collateral is not None
            else max(default_collateral(payment, spec.replicas), minimum)
        )
        claim_window, commit_window = self._windows(spec, options.window)
        rerun_possible = self._rerun_possible(spec) if spec.verification.escalate else False
        params = job_params(
            spec,
            cid_to_digest(spec_cid),
            payment=payment,
            collateral=collateral,
            quorum=options.quorum,
            windows=(claim_window, commit_window, claim_window),
            rerun_possible=rerun_possible,
        )
        use_permit = options.permit if options.permit is not None else self._supports_permit()
        market = self.contracts.market.functions
        if use_permit:
            deadline, v, r, s = self._permit(params.escrow)
            receipt = self.sender.transact(market.createJobWithPermit(params.as_tuple(), deadline, v, r, s))
        else:
            token = self.contracts.token.functions
            self.sender.transact(token.approve(self.contracts.market.address, params.escrow))
            receipt = self.sender.transact(market.createJob(params.as_tuple()))
        return SubmittedJob(
            job_id=self._created_id(receipt),
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            spec_cid=spec_cid,
            payment=payment,
            collateral=collateral,
            replicas=spec.replicas,
            used_permit=use_permit,
            verification=spec.verification.mode,
            reserve=params.reserve,
        )

    def _rerun_possible(self, spec: "JobSpec") -> bool:
        """Whether the network has the 3k + 1 providers with free stake that a job and its re-run need:
        a reserve for a re-run that cannot fill would only hold the requester's tokens for one more
        claim window before round 1's vote decides anyway."""
        from neurolink.protocol.params import ESCALATION_REPLICAS

        if spec.replicas not in ESCALATION_REPLICAS:
            return False
        needed = 3 * spec.replicas + 1
        registered = self._registered_providers()
        if len(registered) < needed:
            return False  # too few ever registered: no need to ask each one
        free = (p for p in sorted(registered) if self._has_free_stake(p))
        return len(list(islice(free, needed))) == needed

    def check_reachable(self, cids: list[str]) -> None:
        """Refuse (ContentUnreachableError, naming the CID) content that providers could not fetch.

        With a Kubo daemon as the store, what it pinned is on the IPFS network. The embedded store is
        on this machine only: each CID must then be served by one of the configured content_gateways.
        """
        from neurolink.content import ContentError, KuboStore
        from neurolink.content.factory import open_own_store
        from neurolink.content.remote import GatewayStore

        if isinstance(open_own_store(self.settings), KuboStore):
            return
        gateways = [GatewayStore(url, timeout=10.0) for url in self.settings.gateway_urls]
        for cid in cids:
            tried = []
            for gateway in gateways:
                try:
                    gateway.get_block(cid)
                    break
                except ContentError as exc:
                    tried.append(str(exc))
            else:
                where = "; ".join(tried) or "no content_gateways configured"
                raise ContentUnreachableError(
                    f"{cid} is only in this machine's store, no provider could fetch it ({where}): "
                    "run `neurolink content serve` where providers can reach it and list its URL under "
                    "content_gateways, or use a Kubo daemon (content_url)"
                )

    def _windows(self, spec: "JobSpec", window: int | None) -> tuple[int, int]:
        """(claim and reveal window, commit window): the commit window covers the declared runtime."""
        if window is not None:
            return window, window
        market = self.contracts.market.functions
        low, high = int(market.minWindow().call()), int(market.maxWindow().call())
        short = min(2 * low, high)
        return short, min(max(short, spec.requirements.max_runtime_s + COMMIT_MARGIN_S), high)

    def _created_id(self, receipt: "TxReceipt") -> int:
        from web3.logs import DISCARD

        events = self.contracts.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise CoordinatorError("createJob succeeded but emitted no JobCreated event")
        return int(events[0]["args"]["jobId"])

    def _supports_permit(self) -> bool:
        from web3.exceptions import Web3Exception

        try:
            self.contracts.token.functions.DOMAIN_SEPARATOR().call()
            self.contracts.token.functions.nonces(self.sender.address).call()
        except (Web3Exception, ValueError):
            return False
        return True

    def _permit(self, value: int) -> tuple[int, int, bytes, bytes]:
        """An ERC-2612 permit for JobMarket to pull `value`, signed by the account (no transaction)."""
        token = self.contracts.token.functions
        owner = self.sender.address
        name, version, chain_id, verifying = token.eip712Domain().call()[1:5]
        # Chain time, not the wall clock: a devnet whose clock was moved ahead would reject the permit.
        deadline = self._chain_time() + PERMIT_VALIDITY_S
        signed = self.sender.account.sign_typed_data(
            domain_data={
                "name": name,
                "version": version,
                "chainId": chain_id,
                "verifyingContract": verifying,
            },
            message_types={
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ]
            },
            message_data={
                "owner": owner,
                "spender": self.contracts.market.address,
                "value": value,
                "nonce": token.nonces(owner).call(),
                "deadline": deadline,
            },
        )
        return deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    # ------------------------------------------------------------------------------ track

    def status(self, job_id: int) -> JobState:
        """Phase, record, providers and result of one job, all as of one moment."""
        market = self.contracts.market.functions
        while True:
            phase = self.contracts.phase(job_id)
            record = self._record(job_id)
            slots = market.getSlots(job_id).call()
            digest = bytes(market.resultOf(job_id).call())
            # A transaction between these reads (a reveal, say) would pair a phase with a stale record.
            if self.contracts.phase(job_id) == phase and self._record(job_id) == record:
                break
        result = "0x" + digest.hex() if phase == JobPhase.SETTLED else None
        providers = tuple(s[0] for s in slots if int(s[0], 16) != 0)  # free slots show provider zero
        return JobState(job_id, phase, record, providers, result)

    def wait(
        self,
        job_id: int,
        *,
        timeout: float = 600.0,
        on_change: Callable[[JobState], None] | None = None,
        settle_when_due: bool = True,
    ) -> JobState:
        """Follow the job until it is closed; settles it once due (anyone may) unless told not to.

        The job changes only in a new block: it is read again at each one (announced by a new-block
        subscription where the RPC has one, else seen by polling the block number), and once a second
        besides, in case an announcement went missing.
        """
        deadline = time.monotonic() + timeout
        self._subscribe()
        last: tuple[Any, ...] | None = None
        seen_block, read_at = -1, 0.0
        while True:
            block = int(self.w3.eth.block_number)
            if block != seen_block or time.monotonic() - read_at >= 1.0:
                seen_block, read_at = block, time.monotonic()
                current = self.status(job_id)
                r = current.record
                key = (current.phase, r.claimed, r.committed, r.revealed)
                if key != last and on_change is not None:
                    on_change(current)
                last = key
                if closed(current.phase):
                    return current
                if settle_when_due and self._due(current):
                    self._settle(job_id)
                    continue
            if time.monotonic() > deadline:
                raise JobWaitTimeoutError(
                    f"job {job_id} still {current.phase.name.lower()} after {timeout:.0f}s"
                )
            self._await_block()

    def _await_block(self) -> None:
        """Until the next block is announced (at most a second), or a polling interval without news."""
        if self._heads is not None and self._heads.live:
            self._news.wait(1.0)
            self._news.clear()
        else:
            time.sleep(max(poll_latency(self.w3), 0.02))

    def _subscribe(self) -> bool:
        """Whether new blocks are announced (a subscription, opened once per client)."""
        from neurolink.chain.heads import NewHeads

        if self._heads is None:
            url = str(getattr(self.w3.provider, "endpoint_uri", "") or self.settings.rpc_url)
            self._heads = NewHeads(url)
            self._heads.start(self._news.set, ready_timeout=1.0)
        return self._heads.live

    def _due(self, current: JobState) -> bool:
        if current.phase == JobPhase.SETTLEABLE:
            return True
        at = due_at(current.record)
        return at is not None and at <= self._chain_time()

    def _chain_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _settle(self, job_id: int) -> None:
        from neurolink.chain.errors import TransactionRevertedError

        try:
            self.sender.transact(self.contracts.market.functions.settle(job_id))
        except TransactionRevertedError as exc:
            # The keeper or a provider got there first, or the chain clock is not there yet.
            if exc.error_name not in ("JobMarketJobClosed", "JobMarketNotSettleable"):
                raise
            self.sender.resync()

    # ------------------------------------------------------------------------------ result

    def result(self, job_id: int, out_dir: Path) -> JobResult:
        """Fetch the winning result by CID into `out_dir` and check it hashes to the on-chain digest.

        In a tolerant job the group's members revealed different digests and the chain cannot tell
        which file matches its fingerprint: each file fetched must have the fingerprint its provider
        revealed, and one that does not (or cannot be fetched) gives way to the next member of the
        winning group. A provider that computed honestly but revealed the digest of another file
        then costs the requester nothing."""
        from coordinator.resultfile import place

        current = self.status(job_id)
        if current.result_digest is None:
            raise ResultUnavailableError(
                f"job {job_id} is {current.phase.name.lower()}, not settled: no result"
            )
        from neurolink.protocol.views import read_fingerprint_seed
        from neurolink.verification.fingerprint import fingerprint_file

        out_dir.mkdir(parents=True, exist_ok=True)
        refused: list[str] = []
        seed: bytes | None = None
        for digest, fingerprint in self._result_candidates(job_id, current):
            try:
                cid, fetched = self._fetch_result(job_id, digest, out_dir)
            except ResultUnavailableError as exc:
                refused.append(str(exc))
                continue
            path, figures = place(fetched, job_id)
            if fingerprint is not None:
                if seed is None:
                    market, first = self.contracts.market, self.deployment.deploy_block
                    seed = read_fingerprint_seed(market, job_id, current.record, first)
                if fingerprint_file(path, seed) != fingerprint:
                    path.unlink()
                    refused.append(f"job {job_id}: {cid} does not have the fingerprint its provider revealed")
                    continue
            metrics = self._metrics(job_id, path, cid, current.record)
            metrics_path = path.with_name(f"job-{job_id}-metrics.json")
            metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
            size = path.stat().st_size
            return JobResult(job_id, cid, "0x" + digest.hex(), path, size, figures, metrics_path, metrics)
        raise ResultUnavailableError("; ".join(refused))

    def _result_candidates(self, job_id: int, current: JobState) -> list[tuple[bytes, bytes | None]]:
        """The winning digest first, then (tolerant jobs) every other digest of the winning group, each
        with the fingerprint its provider revealed (None where fingerprints are not compared)."""
        from neurolink.protocol.views import read_slots
        from neurolink.verification.fingerprint import hamming

        assert current.result_digest is not None
        winning = bytes.fromhex(current.result_digest[2:])
        record = current.record
        if record.verification is not Verification.TOLERANT or record.replicas < 2:
            return [(winning, None)]
        revealed = [s for s in read_slots(self.contracts.market, job_id) if s.revealed]
        centre = next(s for s in revealed if s.digest == winning)
        group = [s for s in revealed if hamming(s.fingerprint, centre.fingerprint) <= record.tolerance]
        seen: set[bytes] = set()
        candidates: list[tuple[bytes, bytes | None]] = []
        for slot in [centre, *group]:
            if slot.digest not in seen:
                seen.add(slot.digest)
                candidates.append((slot.digest, slot.fingerprint))
        return candidates

    def _fetch_result(self, job_id: int, digest: bytes, out_dir: Path) -> tuple[str, Path]:
        """The result named by `digest`, fetched into `out_dir` (every block checked against its CID)."""
        from neurolink.content import ContentError, cid_to_digest

        try:
            cid = self.store.resolve_digest(digest)
            if cid_to_digest(cid) != digest:
                raise ResultUnavailableError(f"job {job_id}: {cid} does not carry 0x{digest.hex()}")
            fetched = out_dir / f".job-{job_id}-{cid}"
            self.store.get_file(cid, fetched)
        except ContentError as exc:
            why = f"job {job_id}: result 0x{digest.hex()} not reachable: {exc}"
            raise ResultUnavailableError(why) from exc
        return cid, fetched

    def _metrics(self, job_id: int, path: Path, cid: str, record: JobView) -> dict[str, Any]:
        from coordinator.jobmetrics import SlotTimes, Timeline, assemble
        from coordinator.resultfile import read_json, verified_metrics

        market = self.contracts.market
        parsed = read_json(path)
        verified = parsed if isinstance(parsed, dict) else verified_metrics(path)
        result = {"file": path.name, "cid": cid}
        # getJob names the creation block until a re-run is drawn; only then is the whole history read.
        first = record.created_block if record.created_block and not record.escalated else None
        created = next(self._logs(market, "JobCreated", first, jobId=job_id), None)
        since = int(created["blockNumber"]) if created is not None else None
        settled = next(self._logs(market, "JobSettled", since, jobId=job_id), None)
        if created is None or settled is None:  # an RPC that pruned its logs: the figures still hold
            return assemble(job_id, result, verified, None)

        def by_provider(event: str) -> dict[str, Any]:
            return {e["args"]["provider"]: e for e in self._logs(market, event, since, jobId=job_id)}

        claims, commits = by_provider("JobClaimed"), by_provider("ResultCommitted")
        times: dict[int, int] = {}

        def at(event: Any) -> int:
            number = int(event["blockNumber"])
            if number not in times:
                times[number] = int(self.w3.eth.get_block(number)["timestamp"])
            return times[number]

        slots = tuple(
            SlotTimes(p, at(claim), at(commits[p]) if p in commits else None) for p, claim in claims.items()
        )
        return assemble(job_id, result, verified, Timeline(at(created), at(settled), slots))

    # ------------------------------------------------------------------------------ manage

    def cancel(self, job_id: int) -> int:
        """Cancel an unclaimed job of this account and withdraw the refund; returns the amount."""
        self.sender.transact(self.contracts.market.functions.cancel(job_id))
        return self.withdraw()

    def withdraw(self) -> int:
        """Pull everything JobMarket owes this account (refunds); returns the amount (0: nothing)."""
        owed = int(self.contracts.market.functions.claimable(self.sender.address).call())
        if owed:
            self.sender.transact(self.contracts.market.functions.withdraw())
        return owed

    def list(self, requester: str | None = None) -> list[JobState]:
        """Every job of `requester` (default: this account), oldest first."""
        who = requester or self.sender.address
        events = self._logs(self.contracts.market, "JobCreated", requester=who)
        return [self.status(int(e["args"]["jobId"])) for e in events]
