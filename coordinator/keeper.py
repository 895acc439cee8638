"""The keeper: calls `settle` on every job whose deadline passed, so no job waits on a human."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.chain.errors import TransactionRevertedError
from neurolink.protocol.contracts import Contracts, due_at
from neurolink.protocol.views import JobStatus, JobView

if TYPE_CHECKING:
    from neurolink.chain.tx import TxSender

log = logging.getLogger(__name__)

# The events `settle` can emit, by the outcome they name.
OUTCOMES = {"JobSettled": "settled", "JobFailed": "failed", "JobExpired": "expired"}


@dataclass(frozen=True)
class KeeperAction:
    """One job the keeper moved on: how it ended and in which transaction."""

    job_id: int
    outcome: str  # settled | failed | expired
    tx_hash: str


class Keeper:
    """Tracks every open job from its cursor on and settles those that are due.

    Job ids are dense (1, 2, ...), so the keeper remembers the open ones and reads only those and
    the ids created since its last tick: each tick costs O(open jobs) calls, never a scan of history.
    """

    def __init__(self, contracts: Contracts, sender: "TxSender", *, start_id: int = 1) -> None:
        self.contracts = contracts
        self.sender = sender
        self._next_unseen = start_id
        self._open: dict[int, JobView] = {}

    def _refresh(self) -> None:
        upto = self.contracts.next_job_id()
        ids = [*self._open, *range(self._next_unseen, upto)]
        self._next_unseen = upto
        self._open = {}
        for job_id in ids:
            job = self.contracts.job(job_id)
            if job.status == JobStatus.OPEN:
                self._open[job_id] = job

    def _now(self) -> int:
        # A chain that mines on demand has a stale latest timestamp; the next block gets wall time.
        latest = int(self.contracts.w3.eth.get_block("latest")["timestamp"])
        return max(latest, int(time.time()))

    def due(self) -> list[int]:
        """Ids of open jobs whose deadline has passed, oldest first."""
        self._refresh()
        now = self._now()
        return [job_id for job_id, job in self._open.items() if (at := due_at(job)) is not None and at <= now]

    def tick(self) -> list[KeeperAction]:
        """Settle every due job; a job someone else settled first is skipped, not an error."""
        actions = []
        for job_id in self.due():
            try:
                receipt = self.sender.transact(self.contracts.market.functions.settle(job_id))
            except TransactionRevertedError as exc:
                if exc.error_name in ("JobMarketJobClosed", "JobMarketNotSettleable"):
                    log.debug("job %d not settleable now: %s", job_id, exc)
                    self.sender.resync()
                    continue
                raise
            outcome = self._outcome(receipt)
            self._open.pop(job_id, None)
            tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
            log.info("job %d %s in %s", job_id, outcome, tx_hash)
            actions.append(KeeperAction(job_id, outcome, tx_hash))
        return actions

    def _outcome(self, receipt: object) -> str:
        from web3.logs import DISCARD

        market = self.contracts.market
        emitted = (
            o for e, o in OUTCOMES.items() if market.events[e]().process_receipt(receipt, errors=DISCARD)
        )
        return next(emitted, "unknown")

    def run(
        self,
        stop: threading.Event,
        interval: float = 1.0,
        on_action: Callable[[KeeperAction], None] | None = None,
    ) -> None:
        """Tick until `stop` is set; an unreachable RPC is logged and retried on the next tick."""
        from neurolink.chain.errors import RpcUnavailableError

        while not stop.is_set():
            try:
                for action in self.tick():
                    if on_action is not None:
                        on_action(action)
            except (RpcUnavailableError, OSError) as exc:  # requests' connection errors are OSErrors
                log.warning("keeper tick skipped: %s", exc)
            stop.wait(interval)
