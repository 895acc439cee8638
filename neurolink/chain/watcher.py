"""Reads contract events with get_logs up to the chain's trusted block and notices reorganisations."""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

    from neurolink.chain.finality import Finality

log = logging.getLogger(__name__)

# Blocks per eth_getLogs call: public RPCs cap the range (often at 2,000-10,000 blocks).
MAX_RANGE = 2_000


@dataclass(frozen=True)
class EventRow:
    """One decoded log; `block_time` is the block's timestamp when the RPC's logs carry it."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    name: str
    job_id: int | None
    args: dict[str, Any]
    block_time: int | None = None


class ScanLedger(Protocol):
    """Where a Watcher keeps what it read: the node's ledger, the explorer's database."""

    def cursor(self) -> int | None:
        """The last block whose logs are all recorded (None before the first scan)."""

    def record_scan(self, events: list[EventRow], cursor: int) -> int:
        """Store new events (duplicates ignored) and move the cursor; returns how many were new."""

    def drop_events_after(self, block_number: int) -> list[int | None]:
        """Forget events and kept hashes above `block_number`; returns the dropped events' job ids."""

    def remember_block(self, number: int, block_hash: str) -> None:
        """Keep a scanned block's hash (a bounded window of the newest)."""

    def known_blocks(self) -> list[tuple[int, str]]:
        """The kept (number, hash) pairs, newest first."""


class Watcher:
    """Scans `contracts` for `events` up to the trusted block (see Finality) and records them.

    Each range is read between two looks at its last block's hash: logs are kept only if that block
    did not change meanwhile and the range's first block still descends from the last block kept.
    The ledger keeps the hashes of the newest scanned blocks; since a block's hash commits to all its
    ancestors, a changed newest hash means a reorganisation somewhere below it, and the highest kept
    block still on the chain is where it forked: events above it are forgotten and read again, and
    the job ids they concerned wait in `take_reorged` for the daemon to re-derive from the contract.
    """

    def __init__(
        self,
        w3: "Web3",
        ledger: ScanLedger,
        contracts: Iterable["Contract"],
        events: Iterable[str],
        *,
        confirmations: int | None = None,
        start_block: int = 0,
        finality: "Finality | None" = None,
    ) -> None:
        from eth_utils.crypto import keccak

        from neurolink.chain.finality import Finality

        self.w3 = w3
        self.ledger = ledger
        self.finality = finality or Finality(w3, confirmations=confirmations)
        self.start_block = start_block
        self.contracts = list(contracts)
        wanted = set(events)
        self._by_topic: dict[bytes, Any] = {}
        for contract in self.contracts:
            for entry in cast("list[dict[str, Any]]", contract.abi):
                if entry.get("type") == "event" and entry["name"] in wanted:
                    signature = f"{entry['name']}({','.join(_abi_type(i) for i in entry['inputs'])})"
                    self._by_topic[keccak(text=signature)] = contract.events[entry["name"]]()
        missing = wanted - {e.event_name for e in self._by_topic.values()}
        if missing:
            raise ValueError(f"events not in the contracts' ABIs: {sorted(missing)}")
        self.head = 0
        self.reorgs = 0
        # Job ids of events dropped by reorganisations the daemon has not yet re-derived (None: none).
        self._reorged: set[int] | None = None

    def start(self) -> None:
        """Check the kept blocks against the chain (a chain restarted from old state rewinds them)."""
        self._check_reorg()

    def stop(self) -> None:
        """Nothing to release: the cursor is already in the ledger."""

    @property
    def lag(self) -> int:
        """Blocks between the chain head and the cursor (chain lag)."""
        cursor = self.ledger.cursor()
        return self.head - (cursor if cursor is not None else self.start_block - 1)

    def take_reorged(self) -> set[int] | None:
        """None if no reorganisation was seen since the last call; else the job ids of dropped events."""
        jobs, self._reorged = self._reorged, None
        return jobs

    def poll(self) -> int:
        """Read new trusted events into the ledger; returns how many were new."""
        self.head = self.w3.eth.block_number
        safe = self.finality.safe_block(self.head)
        self._check_reorg()
        cursor = self.ledger.cursor()
        first = self.start_block if cursor is None else max(cursor + 1, self.start_block)
        added = 0
        while first <= safe:
            last = min(first + MAX_RANGE - 1, safe)
            anchor = self._hash(last)
            events = self._read(first, last)
            if not self._consistent(first, last, anchor, events):
                # The chain moved under the read: the next poll looks again (and finds the fork).
                log.info("chain changed during a scan, reading again", extra={"first": first, "last": last})
                break
            added += self.ledger.record_scan(events, last)
            self.ledger.remember_block(last, cast("str", anchor))
            first = last + 1
        if added:
            log.info("new events", extra={"count": added, "head": self.head, "safe": safe})
        return added

    def _consistent(self, first: int, last: int, anchor: str | None, events: list[EventRow]) -> bool:
        """Whether the logs of first..last belong to the chain whose block `last` is `anchor`, and that
        chain continues the newest kept block."""
        if anchor is None or self._hash(last) != anchor:
            return False
        if any(e.block_number == last and e.block_hash != anchor for e in events):
            return False
        newest = self.ledger.known_blocks()[:1]
        if newest and newest[0][0] == first - 1:
            parent = "0x" + bytes(self.w3.eth.get_block(first)["parentHash"]).hex()
            return parent == newest[0][1]
        return True

    def _read(self, first: int, last: int) -> list[EventRow]:
        logs = self.w3.eth.get_logs(
            {
                "address": [c.address for c in self.contracts],
                "fromBlock": first,
                "toBlock": last,
                "topics": [["0x" + t.hex() for t in self._by_topic]],
            }
        )
        rows = []
        for entry in logs:
            if entry.get("removed"):
                continue
            event = self._by_topic.get(bytes(entry["topics"][0]))
            if event is None:
                continue
            decoded = event.process_log(entry)
            args = _plain(decoded["args"])
            job_id = args.get("jobId")
            rows.append(
                EventRow(
                    tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                    log_index=int(entry["logIndex"]),
                    block_number=int(entry["blockNumber"]),
                    block_hash="0x" + bytes(entry["blockHash"]).hex(),
                    name=decoded["event"],
                    job_id=None if job_id is None else int(job_id),
                    args=args,
                    block_time=_block_time(entry),
                )
            )
        return rows

    def _hash(self, number: int) -> str | None:
        from web3.exceptions import BlockNotFound

        try:
            return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()
        except BlockNotFound:
            return None  # above a head that went back (a chain restarted from older state)

    def _check_reorg(self) -> None:
        kept = self.ledger.known_blocks()
        if not kept or self._hash(kept[0][0]) == kept[0][1]:
            return
        fork = next((number for number, h in kept[1:] if self._hash(number) == h), None)
        if fork is None:
            # Deeper than the kept window: nothing below it can be vouched for either, so start over
            # from the lowest kept block's predecessor (events below it that changed stay unnoticed).
            fork = kept[-1][0] - 1
            log.error("reorganisation deeper than the kept blocks", extra={"window": len(kept)})
        fork = max(fork, self.start_block - 1)
        dropped = self.ledger.drop_events_after(fork)
        self._reorged = (self._reorged or set()) | {j for j in dropped if j is not None}
        self.reorgs += 1
        log.warning(
            "reorganisation: rescanning",
            extra={"fork_block": fork, "was": kept[0], "dropped_events": len(dropped)},
        )


def _block_time(entry: Mapping[str, Any]) -> int | None:
    """The log's block timestamp (newer RPCs, anvil included, add it to every log)."""
    value = entry.get("blockTimestamp")
    if value is None:
        return None
    return int(value, 16) if isinstance(value, str) else int(value)


def _abi_type(entry: Mapping[str, Any]) -> str:
    if str(entry["type"]).startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in entry["components"]) + ")" + str(entry["type"])[5:]
    return str(entry["type"])


def _plain(value: Any) -> Any:
    """Event args as JSON-friendly values: bytes as 0x-hex, structs as dicts."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
