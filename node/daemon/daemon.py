"""The provider daemon: one loop that watches, decides, claims, computes, commits, reveals and withdraws.

Every step reads the ledger's phase of a job and the contract's view of it, so the loop picks up where a
crashed process left off: a claim, commit or reveal is only sent again when the chain shows it missing.
"""

import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from neurolink.chain.deployments import DEVNET_CHAIN_IDS
from neurolink.chain.errors import TransactionRevertedError
from neurolink.chain.watcher import EventRow
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.error_result import MACHINE, ErrorResult
from neurolink.protocol.views import JobPhase
from node.daemon.config import Fault
from node.daemon.crash import crash_point
from node.daemon.errors import FaultRefusedError, is_transient
from node.daemon.ledger import JobRow, Ledger, Phase, TxStatus
from node.daemon.market import CLOSED, ChainJob, Market, SlotState
from node.daemon.policy import Decision, Policy
from node.daemon.reorg import rederive

if TYPE_CHECKING:
    from neurolink.chain.heads import NewHeads
    from neurolink.chain.watcher import Watcher
    from node.daemon.dispatcher import JobDispatcher
    from node.daemon.metrics import NodeMetrics
    from node.daemon.submitter import Submitter

log = logging.getLogger(__name__)

# The events that start, fill (a slot taken), re-open (a slot given back) or end a job; everything in
# between the node reads from the contract's views.
WATCHED_EVENTS = (
    "JobCreated",
    "JobClaimed",
    "JobAbandoned",
    "JobEscalated",
    "JobSettled",
    "JobFailed",
    "JobCancelled",
    "JobExpired",
)
ZERO_FINGERPRINT = "0x" + "00" * 32
RERUN_DRAWN = "round 1 disagreed: its re-run is drawn"
# Gas beyond the estimate for calls whose cost depends on transactions mined just before them (unused
# gas is not paid): a claim estimated for slot 0 may land in a later, dearer slot; the reveal that
# completes a round also settles the job.
CLAIM_EXTRA_GAS = 40_000
SETTLE_GAS_BASE = 150_000
SETTLE_GAS_PER_SLOT = 50_000
# IJobMarket.FailReason.NoQuorum (UnderClaimed is 0).
FAIL_NO_QUORUM = 1
# Queued-job reason while this node is drawn for no free slot (eligibility widens over the window).
NOT_DRAWN = "not drawn for a free slot yet"
# Chain seconds after which a job this node is not drawn for is drawn again at the latest (a new seed
# epoch, every 256 blocks, draws anew even at the widest).
UNDRAWN_RECHECK_S = 60
# Reason of a job this node gave back after a machine failure: it does not claim that job again.
ABANDONED = "abandoned after a machine failure"
# Claim reverts that mean "draw again": another provider took the slot, or a new seed epoch began.
REDRAW = ("JobMarketSlotTaken", "JobMarketNotEligible", "JobMarketSeedNotReady")
# Ticks run back to back while each moves something (a job's phase, a tx, an event); after this many
# the loop waits for news anyway, so a step that writes every time cannot spin it.
MAX_BURST = 20
# Steps one job may take in one tick (claimed -> computing, computed -> revealing -> revealed, ...).
MAX_STEPS = 4
# Without a new-block subscription: how often to ask for the chain head between ticks.
HEAD_POLL_S = 0.05
# Seconds between two reads of the claimable balance when no job of ours has closed meanwhile.
WITHDRAW_CHECK_S = 30.0
# Longest pause between two attempts to compute a job, or to run a step that failed.
MAX_RETRY_PAUSE_S = 30.0
# Failed steps (bugs, bad answers; outages do not count) before a job is quarantined.
RETRY_BUDGET = 5
# Mined-and-reverted sends of one action for one job before the daemon gives that job up.
MAX_REVERTS = 3
# After a machine failure (no sandbox, a device gone, out of memory) the node claims nothing for a while,
# doubling while failures repeat and ending at the next job computed: a machine that stays broken
# abandons a job now and then (a tenth of its collateral each), not every job it could claim.
MACHINE_PAUSE_S = 30.0
MAX_MACHINE_PAUSE_S = 600.0
CLAIMS_PAUSED = "claims paused after a machine failure"
# Machine failures that say the host's workers are away (none registered, or one died under the job):
# retried with the growing pause of a failed computation (2 + 4 + 8 + 16 s) before the slot is abandoned.
WORKERS_AWAY = frozenset({"DevicesUnavailable", "WorkerCrashed"})
WORKERS_AWAY_RETRIES = 4
# Phases in which a job holds this node's devices (a claim in flight will, once mined).
HOLDS_DEVICES = frozenset({Phase.CLAIMING, Phase.CLAIMED, Phase.COMPUTING})
# Phases after our claim: the job's settlement decides our earnings or slash.
OURS = frozenset(
    {
        Phase.CLAIMING,
        Phase.CLAIMED,
        Phase.COMPUTING,
        Phase.COMPUTED,
        Phase.COMMITTING,
        Phase.COMMITTED,
        Phase.REVEALING,
        Phase.REVEALED,
        Phase.FAILED,
        Phase.QUARANTINED,
    }
)


class Daemon:
    """Wires the components and runs the loop; `start`/`stop` start and stop them in order."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        market: Market,
        watcher: "Watcher",
        submitter: "Submitter",
        policy: Policy,
        dispatcher: "JobDispatcher",
        metrics: "NodeMetrics | None" = None,
        heads: "NewHeads | None" = None,
        fault: Fault = Fault.NONE,
        device_class: bytes = bytes(32),
        devnet_only: list[str] | None = None,
        withdraw_threshold: int = 0,
        poll_interval: float = 1.0,
        retry_budget: int = RETRY_BUDGET,
    ) -> None:
        self.ledger = ledger
        self.market = market
        self.watcher = watcher
        self.submitter = submitter
        self.policy = policy
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.heads = heads
        self.fault = fault
        # The determinism class this node registered (checked against its devices at start).
        self.device_class = device_class
        self.devnet_only = devnet_only if devnet_only is not None else _switches(fault)
        self.withdraw_threshold = withdraw_threshold
        self.poll_interval = poll_interval
        self.me = submitter.address
        self._stop = threading.Event()
        # Set by whatever may have work for the loop: a new block, a finished computation, a stop.
        self._wake = threading.Event()
        # What the contract said of each queued job when it was first seen (all but the slot counts
        # are fixed at creation), so ranking the queue costs no calls.
        self._chain_jobs: dict[int, ChainJob] = {}
        # Queued jobs this node is not drawn for, and the chain time before which it cannot be.
        self._undrawn_until: dict[int, int] = {}
        # Whether our claimable balance may have grown since it was last read, and when that was.
        self._earnings_moved = True
        self._withdraw_checked = 0.0
        # Failed computations: how often, and when the next attempt may start (monotonic seconds).
        self._attempts: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}
        # Steps that raised, by job id (or the name of a step of the node's own): failures counted
        # against the budget, consecutive failures of any kind (for the backoff), when to try next.
        self.retry_budget = retry_budget
        self._failures: dict[int, int] = {}
        self._streak: dict[int | str, int] = {}
        self._step_at: dict[int | str, float] = {}
        self.step_errors = 0
        # After a reorganisation, until done: jobs to re-derive from the contract, and whether our
        # txs' receipts still need checking.
        self._rederive_pending: set[int] = set()
        self._recheck_pending = False
        # Machine failures since the last job computed, and until when no job is claimed.
        self._machine_failures = 0
        self._claims_paused_until = 0.0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.devnet_only:
            refuse_off_devnet(self.devnet_only, int(self.market.w3.eth.chain_id))
        self.submitter.start()
        self.watcher.start()
        self.dispatcher.start(on_done=self._wake.set)
        if self.heads is not None and not self.heads.start(self._wake.set):
            log.info("no new-block subscription: polling the chain head", extra={"every_s": HEAD_POLL_S})
        if self.metrics is not None:
            self.metrics.start()
        log.info("node started", extra={"provider": self.me, "jobs": self.ledger.counts_by_phase()})

    def stop(self) -> None:
        self.request_stop()
        if self.heads is not None:
            self.heads.stop()
        if self.metrics is not None:
            self.metrics.stop()
        self.dispatcher.stop()
        self.watcher.stop()
        self.submitter.stop()
        log.info("node stopped")

    def run(self) -> None:
        """Tick until stopped: again at once while ticks move things, else at the next news (a new block,
        a finished computation) or after `poll_interval`. Every step has its own error boundary."""
        burst = 0
        while not self._stop.is_set():
            before = self.ledger.changes
            try:
                self.tick()
            except Exception:
                # Only the ledger itself can fail outside the steps' boundaries (a full disk, say):
                # a daemon that dies strands its jobs, so log it and try again next round.
                log.exception("tick failed, retrying")
            if self.ledger.changes != before and burst < MAX_BURST:
                burst += 1
                continue
            burst = 0
            self._wait_for_news()

    def _wait_for_news(self) -> None:
        """Return at the first news (wake event, or a new head where no subscription tells us), at a stop,
        or after `poll_interval` (time-based work: retry pauses, deadlines)."""
        deadline = time.monotonic() + self.poll_interval
        head = self.watcher.head
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            subscribed = self.heads is not None and self.heads.live
            if self._wake.wait(left if subscribed else min(left, HEAD_POLL_S)):
                self._wake.clear()
                return
            if not subscribed and self._head_moved(head):
                return

    def _head_moved(self, head: int) -> bool:
        try:
            return int(self.market.w3.eth.block_number) != head
        except Exception:
            # An outage: the next tick (at `poll_interval`) reports it and backs off; asking again
            # every HEAD_POLL_S would only hammer the endpoint.
            return False

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # -- one round -------------------------------------------------------------------------------

    def tick(self) -> None:
        """One round: read the chain, follow our txs, handle events, claim, advance each job, withdraw.

        Each step runs in its own boundary (`_contained`): one job's failure delays that job only.
        """
        if not self._contained(None, "watch", self.watcher.poll):
            return  # without the chain's events and head nothing below can be decided
        self._after_reorg()
        self._contained(None, "follow transactions", self.submitter.poll)
        blocked: set[int] = set()
        for event in self.ledger.pending_events():
            if event.job_id in blocked:
                continue  # a job's events are handled in order: wait for the one that failed
            if self._contained(event.job_id, f"event {event.name}", self._on_event, event):
                self.ledger.mark_handled(event)
            elif event.job_id is not None:
                blocked.add(event.job_id)
                if self._is_quarantined(event.job_id):
                    self.ledger.mark_handled(event)
        self._contained(None, "claim", self._claim_queued)
        for job in self.ledger.jobs(active_only=True):
            if job.phase is not Phase.QUEUED:
                self._contained(job.job_id, f"step {job.phase.value}", self._advance, job)
        self._contained(None, "withdraw", self._maybe_withdraw)
        if self.metrics is not None:
            self._contained(None, "metrics", self._update_metrics, self.metrics)

    def _update_metrics(self, metrics: "NodeMetrics") -> None:
        from node.daemon.metrics import Readings

        claimable = self.market.claimable(self.me)
        readings = Readings(
            self.watcher.head,
            self.watcher.lag,
            claimable,
            self.step_errors,
            devices=tuple(self.dispatcher.device_report()),
        )
        metrics.update(self.ledger, readings)

    # -- error boundaries ------------------------------------------------------------------------

    def _contained(self, job_id: int | None, what: str, step: Any, *args: Any) -> bool:
        """Run `step(*args)`; True if it returned. An exception is logged and retried later, with a
        growing pause: an outage (RPC, broker, content store) forever, anything else until the job's
        retry budget is spent and the job is quarantined."""
        key: int | str = what if job_id is None else job_id
        if time.monotonic() < self._step_at.get(key, 0.0):
            return False
        try:
            step(*args)
        except Exception as exc:
            self.step_errors += 1
            streak = self._streak[key] = self._streak.get(key, 0) + 1
            pause = min(self.poll_interval * 2.0 ** (streak - 1), MAX_RETRY_PAUSE_S)
            self._step_at[key] = time.monotonic() + pause
            extra = {"job_id": job_id, "step": what, "error": f"{type(exc).__name__}: {exc}"}
            if is_transient(exc):
                log.warning("step failed on an outage, will retry", extra={**extra, "attempt": streak})
                return False
            if job_id is None:
                log.exception("step failed, will retry", extra=extra)
                return False
            failures = self._failures[job_id] = self._failures.get(job_id, 0) + 1
            log.exception("step failed, will retry", extra={**extra, "failures": failures})
            if failures >= self.retry_budget:
                self._quarantine(job_id, f"{what} failed {failures} times: {extra['error']}")
            return False
        self._streak.pop(key, None)
        self._step_at.pop(key, None)
        return True

    def _quarantine(self, job_id: int, reason: str) -> None:
        row = self.ledger.job(job_id)
        if row is None:
            self.ledger.add_job(job_id, Phase.QUARANTINED, {}, reason)
        else:
            info = {**row.info, "quarantined_from": row.phase.value}
            self.ledger.update_job(job_id, Phase.QUARANTINED, reason=reason, info=info)
        self._failures.pop(job_id, None)
        log.error("job quarantined", extra={"job_id": job_id, "reason": reason})

    def _is_quarantined(self, job_id: int) -> bool:
        row = self.ledger.job(job_id)
        return row is not None and row.phase is Phase.QUARANTINED

    # -- reorganisations -------------------------------------------------------------------------

    def _after_reorg(self) -> None:
        """Re-derive every job a reorganisation may have touched: the active ones (our own txs are not
        watched events) and those whose events were dropped (a settlement may be undone)."""
        reorged = self.watcher.take_reorged()
        if reorged is not None:
            active = {j.job_id for j in self.ledger.jobs(active_only=True)}
            self._rederive_pending |= reorged | active
            self._recheck_pending = True
        if self._recheck_pending:
            # Receipts the fork took away: those txs are followed again (re-sent if the node lost them).
            jobs = set(self._rederive_pending)
            self._recheck_pending = not self._contained(None, "recheck", self.submitter.recheck, jobs)
        for job_id in sorted(self._rederive_pending):
            if self._contained(job_id, "re-derive after a reorganisation", self._rederive, job_id):
                self._rederive_pending.discard(job_id)

    def _rederive(self, job_id: int) -> None:
        row = self.ledger.job(job_id)
        if row is None:
            return
        chain = self.market.phase(job_id)
        if chain is JobPhase.NONE:
            # Its creation was undone: forget it, so its JobCreated (if mined again) is considered anew.
            self.ledger.forget_job(job_id)
            log.warning("job undone by a reorganisation", extra={"job_id": job_id, "was": row.phase.value})
            return
        want = rederive(row, chain, self.market.slot_of(job_id, self.me))
        if want is None:
            return
        reason = f"re-derived after a reorganisation (was {row.phase.value})"
        self.ledger.update_job(job_id, want, reason=reason, earned=0, slashed=0)
        log.warning("job re-derived", extra={"job_id": job_id, "was": row.phase.value, "now": want.value})

    # -- events ----------------------------------------------------------------------------------

    def _on_event(self, event: EventRow) -> None:
        if event.name == "JobCreated" and event.job_id is not None:
            self._consider(event.job_id)
            return
        if event.job_id is None:
            return
        if event.name == "JobClaimed":
            # A slot was taken: a job this node waits on without reads may have filled, so the next
            # round reads it again (and gives it up if so).
            self._undrawn_until.pop(event.job_id, None)
            return
        if event.name == "JobAbandoned":
            self._reopened(event.job_id, str(event.args["provider"]))
            return
        if event.name == "JobEscalated":
            self._escalated(event.job_id)
            return
        job = self.ledger.job(event.job_id)
        if job is None:
            return
        if event.name in ("JobCancelled", "JobExpired") and job.phase is Phase.QUEUED:
            self._close(job, Phase.LOST, f"job {event.name.removeprefix('Job').lower()}")
        elif event.name == "JobSettled" and (job.phase in OURS or job.phase is Phase.QUEUED):
            self._settled(job, event.args)
        elif event.name == "JobFailed" and (job.phase in OURS or job.phase is Phase.QUEUED):
            self._failed(job, event.args)

    def _consider(self, job_id: int) -> None:
        """A new job: skip it with a logged reason, or queue it for claiming."""
        if self.ledger.job(job_id) is not None:
            return
        chain_job = self.market.job(job_id)
        info = {
            "gpu_count": chain_job.gpu_count,
            "replicas": chain_job.replicas,
            "collateral": chain_job.collateral,
            "runtime_s": self.policy.runtime_s(chain_job),
        }
        decision = self._decide(chain_job)
        if not decision.claim:
            self.ledger.add_job(job_id, Phase.SKIPPED, info, decision.reason)
            log.info("skipping job", extra={"job_id": job_id, "reason": decision.reason})
            return
        self.ledger.add_job(job_id, Phase.QUEUED, info)
        log.info("job queued", extra={"job_id": job_id, "payment": chain_job.payment})

    def _decide(self, chain_job: ChainJob) -> Decision:
        """Whether this node could run the job at its price in time, with its spec and inputs at hand."""
        if (
            not chain_job.tolerant
            and chain_job.replicas > 1
            and chain_job.device_class not in (bytes(32), self.device_class)
        ):
            theirs = chain_job.device_class.hex()[:12]
            return Decision(False, f"exact job of device class 0x{theirs}…, not ours")
        decision = self.policy.fits(chain_job, self.market.chain_time())
        if decision.claim:
            problem = self.dispatcher.check_spec(chain_job)
            if problem:
                return Decision(False, problem)
        return decision

    def _reopened(self, job_id: int, provider: str) -> None:
        """Another provider gave a slot back: it is drawn again until the commit deadline."""
        if provider.lower() != self.me.lower():
            self._undrawn_until.pop(job_id, None)
            self._reconsider(job_id, "a slot was given back")

    def _escalated(self, job_id: int) -> None:
        """Round 1 disagreed and 2k + 1 fresh slots are drawn; nodes of round 1 wait for the verdict.
        The re-run has its own slots, counts and deadlines: a record read before it is stale."""
        self._chain_jobs.pop(job_id, None)
        self._undrawn_until.pop(job_id, None)
        row = self.ledger.job(job_id)
        if row is not None and row.phase is Phase.QUEUED:
            self.ledger.update_job(job_id, reason=RERUN_DRAWN)
            log.info(f"job queued again: {RERUN_DRAWN}", extra={"job_id": job_id})
            return
        self._reconsider(job_id, RERUN_DRAWN)

    def _reconsider(self, job_id: int, why: str) -> None:
        """Slots opened in a job this node holds none of: a node that gave the job up when it filled
        (or never saw it) considers it anew. Jobs the policy skipped stay skipped (time only makes them
        harder), and so do those this node abandoned or holds a slot of."""
        row = self.ledger.job(job_id)
        if row is None:
            self._consider(job_id)
            return
        if row.phase is not Phase.LOST or row.reason.startswith(ABANDONED):
            return
        decision = self._decide(self.market.job(job_id))
        if not decision.claim:
            log.info("skipping re-opened slots", extra={"job_id": job_id, "reason": decision.reason})
            return
        self.ledger.update_job(job_id, Phase.QUEUED, reason=why)
        log.info(f"job queued again: {why}", extra={"job_id": job_id})

    def _won(self, chain_job: ChainJob, slot: SlotState, winning: str) -> bool:
        """Whether our reveal is in the winning group: the winning digest, or (tolerant jobs) a
        fingerprint within the job's tolerance of the winning reveal's."""
        if not slot.revealed:
            return False
        if "0x" + slot.digest.hex() == winning:
            return True
        if not chain_job.tolerant:
            return False
        from neurolink.verification.fingerprint import hamming

        slots = self.market.slots(chain_job.job_id)
        centre = next(s for s in slots if s.revealed and "0x" + s.digest.hex() == winning)
        return hamming(slot.fingerprint, centre.fingerprint) <= chain_job.tolerance

    @staticmethod
    def _paid(chain_job: ChainJob, slot: SlotState, round_one: int) -> int:
        """What a paid slot was credited: `round_one` for a slot of round 1, a re-run slot's share of
        the reserve otherwise."""
        if slot.index < chain_job.replicas:
            return round_one
        return chain_job.reserve // (2 * chain_job.replicas + 1)

    def _settled(self, job: JobRow, args: dict[str, Any]) -> None:
        slot = self.market.slot_of(job.job_id, self.me)
        winning = str(args["winningDigest"])
        if slot is None:
            self._close(job, Phase.LOST, "settled without our claim")
            return
        chain_job = self.market.job(job.job_id)
        if self._won(chain_job, slot, winning):
            earned, slashed = self._paid(chain_job, slot, int(args["rewardPerWinner"])), 0
        else:
            earned, slashed = 0, int(job.info.get("collateral", 0))
        self.ledger.update_job(job.job_id, Phase.SETTLED, earned=earned, slashed=slashed, reason="")
        self._earnings_moved = True
        log.info("job settled", extra={"job_id": job.job_id, "earned": earned, "slashed": slashed})

    def _failed(self, job: JobRow, args: dict[str, Any]) -> None:
        slot = self.market.slot_of(job.job_id, self.me)
        no_quorum = int(args["reason"]) == FAIL_NO_QUORUM
        # Under-claimed jobs release every slot; without a quorum revealers are paid their share and
        # only the silent slots are slashed.
        revealed = bool(slot and slot.revealed)
        slashed = int(job.info.get("collateral", 0)) if no_quorum and slot and not revealed else 0
        earned = 0
        if no_quorum and slot and revealed:
            earned = self._paid(self.market.job(job.job_id), slot, int(args.get("paidPerRevealer", 0)))
        reason = f"job failed on-chain ({'NoQuorum' if no_quorum else 'UnderClaimed'})"
        self.ledger.update_job(
            job.job_id, Phase.SETTLED if slot else Phase.LOST, earned=earned, slashed=slashed, reason=reason
        )
        self._earnings_moved = True
        log.info("job failed", extra={"job_id": job.job_id, "slashed": slashed, "reason": reason})

    def _close(self, job: JobRow, phase: Phase, reason: str) -> None:
        self.ledger.update_job(job.job_id, phase, reason=reason)
        log.info("job closed", extra={"job_id": job.job_id, "phase": phase.value, "reason": reason})

    # -- claiming --------------------------------------------------------------------------------

    def _claim_queued(self) -> None:
        """Claim the best queued jobs while this node has room: a free device, or a place in a device's
        queue that the job's deadline allows (Policy.can_claim_now). Stops at the first job turned down
        for want of room, so a full node reads nothing per queued job."""
        queued = [j for j in self.ledger.jobs(active_only=True) if j.phase is Phase.QUEUED]
        for waiting in queued:
            if waiting.job_id not in self._chain_jobs:
                self._chain_jobs[waiting.job_id] = self.market.job(waiting.job_id)
        for job_id in set(self._chain_jobs) - {j.job_id for j in queued}:
            del self._chain_jobs[job_id]
            self._undrawn_until.pop(job_id, None)
        if not queued:
            return
        if time.monotonic() < self._claims_paused_until:
            for held in queued:
                if held.reason != CLAIMS_PAUSED:
                    self.ledger.update_job(held.job_id, reason=CLAIMS_PAUSED)
            return
        busy, backlog_s = self._held_work()
        if busy >= self.policy.capacity.devices * self.policy.capacity.jobs_per_device:
            return
        now = self.market.chain_time()
        cached = list(self._chain_jobs.values())
        # The requester's stake only ranks one job against another.
        requesters = {cj.requester for cj in cached} if len(cached) > 1 else set()
        stakes = {requester: self.market.stake_of(requester) for requester in requesters}
        free_stake = self._free_stake()
        for ranked in self.policy.order(cached, stakes, now):
            if self._undrawn_until.get(ranked.job_id, 0) > now:
                continue
            row = self.ledger.job(ranked.job_id)
            assert row is not None
            phase = self.market.phase(ranked.job_id)
            if phase in CLOSED or phase is not JobPhase.CLAIMING:
                self._close(row, Phase.LOST, f"no longer claimable (market phase {phase.name.lower()})")
                continue
            # Still claiming, so a slot is free: the record read when the job was queued will do (the
            # claim's own estimate catches a slot taken since).
            chain_job = ranked
            decision = self.policy.can_claim_now(chain_job, now, busy, free_stake, backlog_s)
            if not decision.claim:
                if decision.reason != row.reason:
                    self.ledger.update_job(row.job_id, reason=decision.reason)
                    log.info("job waits", extra={"job_id": row.job_id, "reason": decision.reason})
                if decision.reason.startswith("busy"):
                    return
                continue
            if self._claim(chain_job, now):
                busy += chain_job.gpu_count
                backlog_s += self.policy.runtime_s(chain_job) * chain_job.gpu_count / self._devices
                free_stake -= chain_job.collateral

    def _claim(self, chain_job: ChainJob, now: int) -> bool:
        """Send a claim for a slot this node is drawn for (`now`: the latest block's time); whether one
        was sent."""
        job_id = chain_job.job_id
        # Stake-weighted sortition: claim only a slot this node is drawn for (computed off-chain, the
        # contract checks the same); none yet leaves the job queued while eligibility widens.
        slots, widens_in, any_free = self.market.drawn_slots(job_id, self.me)
        if not slots:
            if any_free:
                # Nothing changes the draw before it widens, a slot is given back or the job escalates
                # (those events clear this): until then the job costs no call per round.
                wait = UNDRAWN_RECHECK_S if widens_in is None else min(widens_in, UNDRAWN_RECHECK_S)
                self._undrawn_until[job_id] = now + wait
            # Else the job filled: the next round reads its phase and gives it up.
            row = self.ledger.job(job_id)
            if row is not None and row.reason != NOT_DRAWN:
                self.ledger.update_job(job_id, reason=NOT_DRAWN)
                log.info("job waits", extra={"job_id": job_id, "reason": NOT_DRAWN})
            return False
        self.ledger.update_job(job_id, Phase.CLAIMING, reason="")
        try:
            # Any drawn slot will do: at random, nodes racing for one job collide less often than if all
            # took the first free slot (a collision is a mined revert and a new try).
            self.submitter.send(
                self.market.job_market.functions.claim(job_id, secrets.choice(slots)),
                action="claim",
                job_id=job_id,
                extra_gas=CLAIM_EXTRA_GAS,
            )
        except TransactionRevertedError as exc:
            row = self.ledger.job(job_id)
            assert row is not None
            if exc.error_name in REDRAW:
                # Another provider took the slot first, or a new seed epoch began: draw again.
                self.ledger.update_job(job_id, Phase.QUEUED, reason=f"claim reverted: {exc.error_name}")
            elif exc.error_name:
                # The contract said no (closed, requirements not met): final.
                self._close(row, Phase.LOST, f"claim reverted: {exc.error_name}")
            else:
                # No reason given (out of gas, say): the policy looks at the job again next round.
                self.ledger.update_job(job_id, Phase.QUEUED, reason=str(exc))
                log.warning("claim failed, will retry", extra={"job_id": job_id, "error": str(exc)})
            return False
        log.info("claim sent", extra={"job_id": job_id})
        return True

    @property
    def _devices(self) -> int:
        return max(self.policy.capacity.devices, 1)

    def _held_work(self) -> tuple[int, float]:
        """Devices held by our claimed jobs (counted once per job in a device's queue), and the seconds
        of declared runtime they add up to per device: how long a job claimed now may wait its turn."""
        held = [j for j in self.ledger.jobs(active_only=True) if j.phase in HOLDS_DEVICES]
        busy = sum(int(j.info.get("gpu_count", 1)) for j in held)
        # Rows from before runtimes were recorded count as the longest runtime this node accepts.
        longest = self.policy.capacity.max_runtime_s
        seconds = sum(int(j.info.get("runtime_s", longest)) * int(j.info.get("gpu_count", 1)) for j in held)
        return busy, seconds / self._devices

    def _free_stake(self) -> int:
        """Free stake less the collateral our claims in flight will lock once mined."""
        claiming = [j for j in self.ledger.jobs(active_only=True) if j.phase is Phase.CLAIMING]
        in_flight = sum(int(j.info.get("collateral", 0)) for j in claiming)
        free = int(self.market.staking.functions.freeStakeOf(self.me).call())
        return max(free - in_flight, 0)

    # -- the job's way after the claim ----------------------------------------------------------

    def _advance(self, job: JobRow) -> None:
        """Take the job's steps as far as they go now: one whose phase moves on goes straight to the next
        (claimed -> dispatched; computed -> revealed), not a tick later."""
        for _ in range(MAX_STEPS):
            self._step(job)
            row = self.ledger.job(job.job_id)
            if row is None or row.phase is job.phase or row.phase is Phase.QUEUED:
                return
            job = row

    def _step(self, job: JobRow) -> None:
        try:
            step = getattr(self, f"_on_{job.phase.value}")
        except AttributeError:
            return
        try:
            step(job)
        except TransactionRevertedError as exc:
            log.warning(
                "transaction reverted",
                extra={
                    "job_id": job.job_id,
                    "phase": job.phase.value,
                    "error": exc.error_name,
                    "detail": str(exc),
                },
            )
            self._reconcile_after_revert(job, exc)

    def _reconcile_after_revert(self, job: JobRow, exc: TransactionRevertedError) -> None:
        phase = self.market.phase(job.job_id)
        if phase in CLOSED:
            # Settled by another node's reveal or settle in between: the event finishes the job.
            return
        if exc.error_name in ("JobMarketCommitClosed", "JobMarketRevealClosed", "JobMarketNotCommitted"):
            self.ledger.update_job(job.job_id, Phase.FAILED, reason=f"too late: {exc.error_name}")

    def _on_claiming(self, job: JobRow) -> None:
        """A claim is in flight (or was, before a crash): the chain says whether it made it."""
        if self.market.slot_of(job.job_id, self.me) is not None:
            self.ledger.update_job(job.job_id, Phase.CLAIMED, reason="")
            log.info("claimed", extra={"job_id": job.job_id})
            crash_point("after-claim")
            return
        outcome = self.submitter.outcome(job.job_id, "claim")
        if outcome is TxStatus.PENDING:
            return
        reverts = self.submitter.reverts(job.job_id, "claim") if outcome is TxStatus.REVERTED else []
        if reverts and reverts[-1] in REDRAW:
            self.ledger.update_job(job.job_id, Phase.QUEUED, reason=f"claim reverted: {reverts[-1]}")
        elif reverts and reverts[-1].startswith("JobMarket"):
            # The contract said no (full, closed, not eligible): final.
            self._close(job, Phase.LOST, f"claim reverted: {reverts[-1]}")
        else:
            # Never sent, dropped, or reverted without a reason: back to the queue, where the policy
            # decides again.
            self.ledger.update_job(job.job_id, Phase.QUEUED)

    def _fingerprint_seed(self, chain_job: ChainJob) -> bytes | None:
        """The seed of the job's fingerprints (None where none are compared): the hash of its creation
        block, from the JobCreated this node recorded when it has one."""
        if not chain_job.compares_fingerprints:
            return None
        created = self.ledger.events("JobCreated", chain_job.job_id)
        if created:
            return bytes.fromhex(created[0].block_hash.removeprefix("0x"))
        return self.market.fingerprint_seed(chain_job)

    def _on_claimed(self, job: JobRow) -> None:
        chain_job = self.market.job(job.job_id)
        self.dispatcher.submit(chain_job, self._fingerprint_seed(chain_job))
        self.ledger.update_job(job.job_id, Phase.COMPUTING)
        log.info("computing", extra={"job_id": job.job_id})
        crash_point("during-compute")

    def _on_computing(self, job: JobRow) -> None:
        if not self.dispatcher.knows(job.job_id):
            # Not running here: a restart lost it, or the last attempt failed. Results are
            # deterministic, so run it (again), after a growing pause if attempts failed.
            if time.monotonic() < self._retry_at.get(job.job_id, 0.0):
                return
            log.info("dispatching again", extra={"job_id": job.job_id})
            chain_job = self.market.job(job.job_id)
            self.dispatcher.submit(chain_job, self._fingerprint_seed(chain_job))
            return
        outcome = self.dispatcher.poll(job.job_id)
        if outcome is None:
            return
        record = ErrorResult.for_code(outcome.error_code) if outcome.error else None
        if record is not None:
            # Every honest provider fails this job the same way: the canonical error record is the
            # result, committed and revealed like any other (docs/PROTOCOL.md, "Failures are results").
            log.info(
                "job fails deterministically: committing the error result",
                extra={"job_id": job.job_id, "code": outcome.error_code},
            )
            tolerant = self.market.job(job.job_id).compares_fingerprints
            outcome = self.dispatcher.store_error_result(record, tolerant=tolerant)
        elif outcome.error_code in MACHINE and not self._may_come_back(job.job_id, outcome.error_code):
            self._abandon(job, outcome.error)
            return
        if outcome.error:
            if self.market.chain_time() > self.market.job(job.job_id).commit_deadline:
                self.ledger.update_job(job.job_id, Phase.FAILED, reason=f"compute failed: {outcome.error}")
                return
            attempts = self._attempts[job.job_id] = self._attempts.get(job.job_id, 0) + 1
            self._retry_at[job.job_id] = time.monotonic() + min(2.0**attempts, MAX_RETRY_PAUSE_S)
            log.warning(
                "compute failed, will retry",
                extra={"job_id": job.job_id, "error": outcome.error, "attempt": attempts},
            )
            return
        self._machine_failures = 0  # this machine computes again
        digest = outcome.digest
        if self.fault is Fault.WRONG_RESULT:
            digest = "0x" + secrets.token_bytes(32).hex()
            log.warning(
                "FAULT wrong-result: revealing a digest that is not the result's",
                extra={"job_id": job.job_id},
            )
        fingerprint = outcome.fingerprint
        if self.fault is Fault.FORGED_FINGERPRINT and fingerprint:
            fingerprint = "0x" + secrets.token_bytes(32).hex()
            log.warning(
                "FAULT forged-fingerprint: revealing a fingerprint made up without the result",
                extra={"job_id": job.job_id},
            )
        self.ledger.update_job(
            job.job_id,
            Phase.COMPUTED,
            result_cid=outcome.cid,
            digest=digest,
            busy_seconds=job.busy_seconds + outcome.seconds,
            info={**job.info, "fingerprint": fingerprint},
        )
        log.info(
            "computed", extra={"job_id": job.job_id, "cid": outcome.cid, "seconds": round(outcome.seconds, 3)}
        )

    def _may_come_back(self, job_id: int, code: str) -> bool:
        """Whether a machine failure is worth retrying before giving the slot up: workers that are away
        (restarting after a crash, say) are back in seconds, while the job's window lasts minutes."""
        return code in WORKERS_AWAY and self._attempts.get(job_id, 0) < WORKERS_AWAY_RETRIES

    def _abandon(self, job: JobRow, error: str) -> None:
        """A failure of this machine, not of the job: give the slot back (losing a tenth of the
        collateral) rather than be slashed in full at the deadline; and claim nothing for a while."""
        self._machine_failures += 1
        pause = min(MACHINE_PAUSE_S * 2.0 ** (self._machine_failures - 1), MAX_MACHINE_PAUSE_S)
        self._claims_paused_until = time.monotonic() + pause
        log.warning(CLAIMS_PAUSED, extra={"seconds": pause, "failures": self._machine_failures})
        try:
            self.submitter.send(
                self.market.job_market.functions.abandon(job.job_id), action="abandon", job_id=job.job_id
            )
        except TransactionRevertedError as exc:
            # Too late (committed or past the commit deadline): the ordinary deadline path follows.
            self.ledger.update_job(job.job_id, Phase.FAILED, reason=f"abandon reverted: {exc.error_name}")
            return
        # The contract burns a fixed share of the slot's collateral: the ledger books it as slashed.
        bps = int(self.market.job_market.functions.ABANDON_PENALTY_BPS().call())
        penalty = int(job.info.get("collateral", 0)) * bps // 10_000
        reason = f"{ABANDONED}: {error}"
        self.ledger.update_job(job.job_id, Phase.LOST, reason=reason, slashed=penalty)
        log.warning("slot abandoned", extra={"job_id": job.job_id, "error": error, "penalty": penalty})

    def _on_computed(self, job: JobRow) -> None:
        if self.fault is Fault.SILENT:
            return
        if int(job.info.get("replicas", 1)) == 1:
            # One replica: nothing to copy, so the contract skips the commit round.
            self.ledger.update_job(job.job_id, Phase.REVEALING)
            self._reveal(job, "0x" + "00" * 32)
            return
        # The salt is on disk before any commitment to it exists anywhere.
        salt = self.ledger.save_salt(job.job_id, "0x" + new_salt().hex())
        self._commit(job, salt)

    def _already_sent(self, job: JobRow, action: str, landed: Phase) -> bool:
        """Whether `action` (commit or reveal) needs no send now: its slot shows it (the ledger moves on to
        `landed`), or our transaction for it is still pending."""
        slot = self.market.slot_of(job.job_id, self.me)
        if slot is not None and (slot.committed if action == "commit" else slot.revealed):
            self.ledger.update_job(job.job_id, landed)
            log.info(f"{action} landed", extra={"job_id": job.job_id})
            return True
        if self.submitter.outcome(job.job_id, action) is TxStatus.PENDING:
            return True
        reverts = self.submitter.reverts(job.job_id, action)
        if len(reverts) >= MAX_REVERTS:
            # Each mined revert costs gas: after a few, stop paying and say why.
            self.ledger.update_job(
                job.job_id, Phase.FAILED, reason=f"{action} reverted {len(reverts)} times: {reverts[-1]}"
            )
            return True
        return False

    def _on_committing(self, job: JobRow) -> None:
        if not self._already_sent(job, "commit", Phase.COMMITTED):
            self._commit(job, job.salt or "")

    def _commit(self, job: JobRow, salt: str) -> None:
        job_id = job.job_id
        value = commitment(
            job_id,
            self.me,
            job.digest or "",
            salt,
            chain_id=self.market.chain_id(),
            market=self.market.job_market.address,
            fingerprint=_fingerprint(job),
        )
        self.submitter.send(
            self.market.job_market.functions.commit(job_id, value), action="commit", job_id=job_id
        )
        log.info("commit sent", extra={"job_id": job_id})

    def _on_committed(self, job: JobRow) -> None:
        phase = self.market.phase(job.job_id)
        if phase is JobPhase.REVEALING:
            self.ledger.update_job(job.job_id, Phase.REVEALING)
            self._reveal(job, job.salt or "")
        elif phase is JobPhase.SETTLEABLE:
            self._settle(job.job_id)

    def _on_revealing(self, job: JobRow) -> None:
        if self._already_sent(job, "reveal", Phase.REVEALED) or self.market.phase(job.job_id) in CLOSED:
            return
        salt = job.salt or "0x" + "00" * 32
        self._reveal(job, salt)

    def _reveal(self, job: JobRow, salt: str) -> None:
        # Whichever reveal completes the round also settles the job; another node's reveal mined between
        # our estimate and ours makes ours that one, so leave room for the settlement's loops.
        job_id, digest = job.job_id, job.digest or ""
        replicas = int(job.info.get("replicas") or self.market.job(job_id).replicas)
        self.submitter.send(
            self.market.job_market.functions.reveal(
                job_id, _b32(digest), _b32(_fingerprint(job)), _b32(salt)
            ),
            action="reveal",
            job_id=job_id,
            extra_gas=SETTLE_GAS_BASE + SETTLE_GAS_PER_SLOT * replicas,
        )
        log.info("reveal sent", extra={"job_id": job_id, "digest": digest})

    def _on_revealed(self, job: JobRow) -> None:
        if self.market.phase(job.job_id) is JobPhase.SETTLEABLE:
            self._settle(job.job_id)

    def _settle(self, job_id: int) -> None:
        """Anyone may settle a due job; another node winning the race is fine."""
        if self.submitter.pending(job_id, "settle"):
            return
        try:
            self.submitter.send(
                self.market.job_market.functions.settle(job_id), action="settle", job_id=job_id
            )
        except TransactionRevertedError as exc:
            if exc.error_name not in ("JobMarketJobClosed", "JobMarketNotSettleable"):
                raise
            return
        log.info("settle sent", extra={"job_id": job_id})

    # -- earnings --------------------------------------------------------------------------------

    def _maybe_withdraw(self) -> None:
        """Withdraw earnings once they pass the threshold. The balance is read only when it may have
        grown (a job of ours closed), at start, and every WITHDRAW_CHECK_S besides."""
        if not self._earnings_moved and time.monotonic() - self._withdraw_checked < WITHDRAW_CHECK_S:
            return
        if self.submitter.pending(None, "withdraw"):
            return
        self._earnings_moved, self._withdraw_checked = False, time.monotonic()
        claimable = self.market.claimable(self.me)
        if claimable == 0 or claimable < self.withdraw_threshold:
            return
        crash_point("before-withdraw")
        try:
            self.submitter.send(self.market.job_market.functions.withdraw(), action="withdraw")
        except TransactionRevertedError as exc:
            if exc.error_name != "JobMarketNothingToWithdraw":
                raise
            return
        log.info("withdraw sent", extra={"amount": claimable})


def _fingerprint(job: JobRow) -> str:
    """The fingerprint committed and revealed for the job's result (zero for exact jobs)."""
    return str(job.info.get("fingerprint") or ZERO_FINGERPRINT)


def _b32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def refuse_off_devnet(switches: list[str], chain_id: int) -> None:
    """Refuse fault injection and device emulation (`switches`, as NodeConfig.devnet_only names them) on
    any chain but a devnet."""
    if not switches:
        return
    if chain_id not in DEVNET_CHAIN_IDS:
        raise FaultRefusedError(
            f"{' and '.join(switches)} is for devnets only (chain ids {sorted(DEVNET_CHAIN_IDS)});"
            f" chain {chain_id} is not one: remove `fault` and `emulate` from the node config,"
            " NEUROLINK_NODE_FAULT, NEUROLINK_NODE_EMULATE, --fault and --emulate"
        )
    log.warning("TEST SWITCHES ON: this node misbehaves or pretends on purpose: %s", switches)


def _switches(fault: Fault) -> list[str]:
    return [f"fault injection ({fault.value})"] if fault is not Fault.NONE else []
