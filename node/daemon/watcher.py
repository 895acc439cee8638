"""Reads contract events with get_logs behind N confirmations from the ledger's cursor, tolerating reorgs."""

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from node.daemon.ledger import EventRow, Ledger

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

log = logging.getLogger(__name__)

# Blocks per eth_getLogs call: public RPCs cap the range (often at 2,000-10,000 blocks).
MAX_RANGE = 2_000


class Watcher:
    """Scans `contracts` for `events` up to head - confirmations and records them in the ledger.

    Every scan starts `confirmations` blocks below the cursor, so a reorganisation shallower than that
    is read again and the ledger's (tx hash, log index) key drops what it already has. A deeper one is
    noticed by the cursor block's hash changing: the watcher then forgets events above a rewound cursor
    and reads them again.
    """

    def __init__(
        self,
        w3: "Web3",
        ledger: Ledger,
        contracts: Iterable["Contract"],
        events: Iterable[str],
        *,
        confirmations: int = 0,
        start_block: int = 0,
    ) -> None:
        from eth_utils.crypto import keccak

        self.w3 = w3
        self.ledger = ledger
        self.confirmations = confirmations
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

    def start(self) -> None:
        """Check that the cursor's block is still canonical (a chain restarted from old state rewinds it)."""
        self._check_cursor()

    def stop(self) -> None:
        """Nothing to release: the cursor is already in the ledger."""

    @property
    def lag(self) -> int:
        """Blocks between the chain head and the cursor (chain lag)."""
        cursor = self.ledger.cursor()
        return self.head - (cursor if cursor is not None else self.start_block - 1)

    def poll(self) -> int:
        """Read new confirmed events into the ledger; returns how many were new."""
        self.head = self.w3.eth.block_number
        safe = self.head - self.confirmations
        self._check_cursor()
        cursor = self.ledger.cursor()
        first = self.start_block if cursor is None else max(cursor - self.confirmations + 1, self.start_block)
        added = 0
        while first <= safe:
            last = min(first + MAX_RANGE - 1, safe)
            events = self._read(first, last)
            added += self.ledger.record_scan(events, last)
            self._remember_hash(last)
            first = last + 1
        if added:
            log.info("new events", extra={"count": added, "head": self.head, "safe": safe})
        return added

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
                )
            )
        return rows

    def _remember_hash(self, block_number: int) -> None:
        block = self.w3.eth.get_block(block_number)
        self.ledger.set_meta("cursor_hash", "0x" + bytes(block["hash"]).hex())

    def _check_cursor(self) -> None:
        cursor = self.ledger.cursor()
        stored = self.ledger.get_meta("cursor_hash")
        if cursor is None or not stored:
            return
        canonical: str | None = None
        if cursor <= self.w3.eth.block_number:
            canonical = "0x" + bytes(self.w3.eth.get_block(cursor)["hash"]).hex()
        if canonical == stored:
            return
        # Deeper than the confirmations (or the chain went back): read again from well below the cursor.
        rewind = max(
            min(cursor, self.w3.eth.block_number) - 2 * max(self.confirmations, 8), self.start_block - 1
        )
        dropped = self.ledger.drop_events_after(rewind)
        self.ledger.record_scan([], rewind)
        if rewind >= 0:
            self._remember_hash(rewind)
        else:
            self.ledger.set_meta("cursor_hash", "")
        self.reorgs += 1
        log.warning(
            "cursor block no longer canonical: rescanning",
            extra={"cursor": cursor, "rewind_to": rewind, "dropped_events": dropped},
        )


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
