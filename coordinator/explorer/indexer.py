"""Follows JobMarket and Staking through the shared Watcher (finality, reorg rewind) into the database."""

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from coordinator.explorer.errors import ExplorerDatabaseError
from coordinator.explorer.models import Account, Block, Credit, Event, Job, Meta, Slot
from coordinator.explorer.projection import EVENTS, Facts, account_of_event, apply
from neurolink.chain.watcher import EventRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from web3 import Web3


log = logging.getLogger(__name__)

# Scanned block hashes kept to find where a reorganisation forked (as the node keeps them).
BLOCK_WINDOW = 256


def get_meta(db: Session, key: str) -> str | None:
    row = db.get(Meta, key)
    return None if row is None else row.value


def set_meta(db: Session, key: str, value: str) -> None:
    db.merge(Meta(key=key, value=value))


class Indexer:
    """The explorer's side of the Watcher: stores each new event and applies it in the same transaction.

    Re-running from any block gives the same rows (an event already stored is skipped); a
    reorganisation deletes the events above the fork and rebuilds the jobs and accounts they touched
    from the events that remain.
    """

    def __init__(
        self,
        engine: "Engine",
        w3: "Web3",
        *,
        job_market: str,
        staking: str,
        start_block: int,
        confirmations: int | None = None,
    ) -> None:
        from neurolink.chain.artifacts import contract_at
        from neurolink.chain.finality import Finality
        from neurolink.chain.watcher import Watcher

        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.w3 = w3
        self.start_block = start_block
        market = contract_at(w3, "JobMarket", job_market)
        staking_contract = contract_at(w3, "Staking", staking)
        self.facts = Facts(
            settlement_tip_bps=int(market.functions.SETTLEMENT_TIP_BPS().call()), sender_of=self._sender
        )
        self._bind(int(w3.eth.chain_id), market, staking)
        self.watcher: Watcher = Watcher(
            w3,
            self,
            [market, staking_contract],
            EVENTS,
            finality=Finality(w3, confirmations=confirmations),
            start_block=start_block,
        )
        self._times: dict[int, int] = {}

    def _bind(self, chain_id: int, market: Any, staking: str) -> None:
        """Tie the database to one chain and deployment: another one is an error, not a mix-up."""
        identity = {"chain_id": str(chain_id), "job_market": market.address, "staking": staking}
        with self.sessions.begin() as db:
            for key, value in identity.items():
                stored = get_meta(db, key)
                if stored is None:
                    set_meta(db, key, value)
                elif stored != value:
                    raise ExplorerDatabaseError(
                        f"the database indexes {key}={stored}, not {value}: use another database"
                    )
            if get_meta(db, "initial_treasury") is None:
                set_meta(db, "initial_treasury", self._initial_treasury(market))
            set_meta(db, "start_block", str(self.start_block))

    def _initial_treasury(self, market: Any) -> str:
        """The constructor sets the first treasury without an event: read it where indexing starts
        (the deploy block; the head if that is later), or now when the market has no code there."""
        from web3.exceptions import BadFunctionCallOutput

        try:
            block = min(self.start_block, self.w3.eth.block_number)
            return str(market.functions.treasury().call(block_identifier=block))
        except BadFunctionCallOutput:
            return str(market.functions.treasury().call())

    # -- ScanLedger ----------------------------------------------------------------------------------

    def cursor(self) -> int | None:
        with self.sessions() as db:
            value = get_meta(db, "cursor")
        return None if value is None else int(value)

    def record_scan(self, events: list[EventRow], cursor: int) -> int:
        added = 0
        ordered = sorted(events, key=lambda e: (e.block_number, e.log_index))
        with self.sessions.begin() as db:
            known: set[tuple[str, int]] = set()
            if ordered:
                known = {
                    (r.tx_hash, r.log_index)
                    for r in db.execute(
                        select(Event.tx_hash, Event.log_index).where(
                            Event.block_number.between(ordered[0].block_number, ordered[-1].block_number)
                        )
                    )
                }
            for e in ordered:
                if (e.tx_hash, e.log_index) in known:
                    continue
                row = Event(
                    tx_hash=e.tx_hash,
                    log_index=e.log_index,
                    block_number=e.block_number,
                    block_hash=e.block_hash,
                    block_time=self._time(e),
                    name=e.name,
                    job_id=e.job_id,
                    account=account_of_event(e.name, e.args),
                    args=json.dumps(e.args, sort_keys=True),
                )
                db.add(row)
                db.flush()
                apply(db, row, self.facts)
                added += 1
            set_meta(db, "cursor", str(cursor))
        return added

    def drop_events_after(self, block_number: int) -> list[int | None]:
        with self.sessions.begin() as db:
            dropped = list(
                db.execute(select(Event.job_id, Event.account).where(Event.block_number > block_number))
            )
            jobs = {r.job_id for r in dropped if r.job_id is not None}
            accounts = {r.account for r in dropped if r.account is not None}
            db.execute(delete(Event).where(Event.block_number > block_number))
            db.execute(delete(Block).where(Block.number > block_number))
            rebuild(db, jobs, accounts, self.facts)
            set_meta(db, "cursor", str(block_number))
            set_meta(db, "reorgs", str(int(get_meta(db, "reorgs") or 0) + 1))
        self._times.clear()
        return [r.job_id for r in dropped]

    def remember_block(self, number: int, block_hash: str) -> None:
        with self.sessions.begin() as db:
            db.merge(Block(number=number, hash=block_hash))
            db.execute(delete(Block).where(Block.number <= number - BLOCK_WINDOW))

    def known_blocks(self) -> list[tuple[int, str]]:
        with self.sessions() as db:
            rows = db.execute(select(Block.number, Block.hash).order_by(Block.number.desc()))
            return [(int(r.number), str(r.hash)) for r in rows]

    # -- running -------------------------------------------------------------------------------------

    def rewind_to(self, block_number: int) -> None:
        """Index again from `block_number` (events already stored are kept and skipped)."""
        with self.sessions.begin() as db:
            set_meta(db, "cursor", str(max(block_number, self.start_block) - 1))

    def poll(self) -> int:
        """Read and apply every new trusted event; returns how many were new."""
        added = self.watcher.poll()
        with self.sessions.begin() as db:
            set_meta(db, "head", str(self.watcher.head))
            set_meta(db, "polled_at", f"{time.time():.3f}")
        return added

    def run(self, stop: threading.Event, interval: float) -> None:
        """Poll until `stop` is set; an RPC outage is logged and retried, not fatal."""
        self.watcher.start()
        while not stop.is_set():
            try:
                self.poll()
            except (OSError, ConnectionError) as exc:
                log.warning("indexer poll failed, retrying", extra={"error": str(exc)})
            stop.wait(interval)

    def _time(self, event: EventRow) -> int:
        if event.block_time is not None:
            return event.block_time
        if event.block_number not in self._times:
            if len(self._times) > 4096:
                self._times.clear()
            self._times[event.block_number] = int(self.w3.eth.get_block(event.block_number)["timestamp"])
        return self._times[event.block_number]

    def _sender(self, tx_hash: str) -> str:
        from eth_typing import HexStr

        return str(self.w3.eth.get_transaction(HexStr(tx_hash))["from"])


def rebuild(db: Session, jobs: set[int], accounts: set[str], facts: Facts) -> None:
    """Delete the rows of `jobs` and `accounts` and replay their stored events, in chain order."""
    if jobs:
        for table in (Slot, Credit):
            db.execute(delete(table).where(table.job_id.in_(jobs)))
        db.execute(delete(Job).where(Job.job_id.in_(jobs)))
    if accounts:
        db.execute(delete(Account).where(Account.address.in_(accounts)))
    db.flush()
    order = (Event.block_number, Event.log_index)
    if jobs:
        for event in db.scalars(select(Event).where(Event.job_id.in_(jobs)).order_by(*order)).all():
            apply(db, event, facts, accounts=False)
    if accounts:
        for event in db.scalars(select(Event).where(Event.account.in_(accounts)).order_by(*order)).all():
            apply(db, event, facts, jobs=False)
