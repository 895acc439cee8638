"""The node's memory across restarts: a SQLite file of cursor, events, jobs, salts and transactions."""

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from neurolink.chain.watcher import EventRow
from node.daemon.errors import JobNotQuarantinedError, LedgerError, UnknownJobError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL, name TEXT NOT NULL, job_id INTEGER, args TEXT NOT NULL,
    handled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS events_pending ON events (handled, block_number, log_index);
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY, phase TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    info TEXT NOT NULL DEFAULT '{}', salt TEXT, result_cid TEXT, digest TEXT,
    earned TEXT NOT NULL DEFAULT '0', slashed TEXT NOT NULL DEFAULT '0',
    busy_seconds REAL NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    tx_hash TEXT PRIMARY KEY, nonce INTEGER NOT NULL, action TEXT NOT NULL, job_id INTEGER,
    raw TEXT NOT NULL, status TEXT NOT NULL, max_fee INTEGER NOT NULL, tip INTEGER NOT NULL,
    sent_at REAL NOT NULL, error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS txs_nonce ON txs (nonce);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
"""
# Scanned block hashes kept to find where a reorganisation forked.
BLOCK_WINDOW = 256


class Phase(StrEnum):
    """Where a job stands for this node; the daemon resumes each from its phase after a restart."""

    SKIPPED = "skipped"  # policy said no (reason saved)
    QUEUED = "queued"  # fits this node; waits for free devices, stake or its turn in priority order
    CLAIMING = "claiming"  # claim decided; a claim tx may be journaled
    CLAIMED = "claimed"
    COMPUTING = "computing"
    COMPUTED = "computed"  # result stored, digest known
    COMMITTING = "committing"  # salt saved; a commit tx may be journaled
    COMMITTED = "committed"
    REVEALING = "revealing"
    REVEALED = "revealed"
    SETTLED = "settled"
    LOST = "lost"  # claim race lost, job cancelled or expired before our claim
    FAILED = "failed"  # we could not finish (reason saved)
    # Its steps kept failing past the retry budget: the daemon leaves it alone (reason and the phase it
    # was in saved) so one broken job cannot hold up the others; its settlement is still recorded.
    QUARANTINED = "quarantined"


TERMINAL = frozenset({Phase.SKIPPED, Phase.SETTLED, Phase.LOST, Phase.FAILED, Phase.QUARANTINED})
JOB_COLUMNS = "job_id, phase, reason, info, salt, result_cid, digest, earned, slashed, busy_seconds"
EVENT_COLUMNS = "tx_hash, log_index, block_number, block_hash, name, job_id, args"
TX_COLUMNS = "tx_hash, nonce, action, job_id, raw, status, max_fee, tip, sent_at, error"


class TxStatus(StrEnum):
    PENDING = "pending"  # signed and journaled; maybe broadcast
    MINED = "mined"
    REVERTED = "reverted"
    REPLACED = "replaced"  # another tx with the same nonce was mined
    DROPPED = "dropped"  # never mined and no longer sendable


@dataclass(frozen=True)
class JobRow:
    job_id: int
    phase: Phase
    reason: str
    info: dict[str, Any]
    salt: str | None
    result_cid: str | None
    digest: str | None
    earned: int
    slashed: int
    busy_seconds: float


@dataclass(frozen=True)
class TxRow:
    tx_hash: str
    nonce: int
    action: str
    job_id: int | None
    raw: str
    status: TxStatus
    max_fee: int
    tip: int
    sent_at: float
    # Why it ended as it did: the decoded revert, or what dropped it.
    error: str = ""


class Ledger:
    """One SQLite file per node; every write is its own transaction, so a kill -9 loses nothing written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a transaction is on disk when it returns; the salt must survive a power cut too.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path}: not a usable ledger: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @property
    def changes(self) -> int:
        """Rows written since the ledger was opened: a loop compares two readings to see if it moved."""
        return self._db.total_changes

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- identity and cursor ---------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bind(self, **identity: str) -> None:
        """Tie the ledger to a chain, contract and account; a mismatch later is an error, not a mix-up."""
        for key, value in identity.items():
            stored = self.get_meta(f"identity.{key}")
            if stored is None:
                self.set_meta(f"identity.{key}", value)
            elif stored != value:
                raise LedgerError(
                    f"{self.path} belongs to {key}={stored}, not {value}: use another ledger file"
                )

    def cursor(self) -> int | None:
        """The last block whose logs are all recorded (None before the first scan)."""
        value = self.get_meta("cursor")
        return None if value is None else int(value)

    def record_scan(self, events: list[EventRow], cursor: int) -> int:
        """Store new events (deduplicated by tx hash and log index), move the cursor; return the count."""
        added = 0
        with self.transaction() as db:
            for e in events:
                cur = db.execute(
                    "INSERT OR IGNORE INTO events"
                    " (tx_hash, log_index, block_number, block_hash, name, job_id, args)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (e.tx_hash, e.log_index, e.block_number, e.block_hash, e.name, e.job_id,
                     json.dumps(e.args, sort_keys=True, default=str)),
                )  # fmt: skip
                added += cur.rowcount
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cursor', ?)", (str(cursor),))
        return added

    def drop_events_after(self, block_number: int) -> list[int | None]:
        """Forget events and block hashes above `block_number` (a reorganisation forked there) and move
        the cursor down to it; returns the dropped events' job ids."""
        with self.transaction() as db:
            rows = db.execute("SELECT job_id FROM events WHERE block_number > ?", (block_number,)).fetchall()
            db.execute("DELETE FROM events WHERE block_number > ?", (block_number,))
            db.execute("DELETE FROM blocks WHERE number > ?", (block_number,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cursor', ?)", (str(block_number),))
        return [r[0] for r in rows]

    def remember_block(self, number: int, block_hash: str) -> None:
        """Keep a scanned block's hash (the newest BLOCK_WINDOW of them)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO blocks (number, hash) VALUES (?, ?)", (number, block_hash))
            db.execute("DELETE FROM blocks WHERE number <= ?", (number - BLOCK_WINDOW,))

    def known_blocks(self) -> list[tuple[int, str]]:
        """The kept (number, hash) pairs, newest first."""
        rows = self._db.execute("SELECT number, hash FROM blocks ORDER BY number DESC").fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def pending_events(self) -> list[EventRow]:
        rows = self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE handled = 0 ORDER BY block_number, log_index"
        ).fetchall()
        return [_event(r) for r in rows]

    def mark_handled(self, event: EventRow) -> None:
        self._db.execute(
            "UPDATE events SET handled = 1 WHERE tx_hash = ? AND log_index = ?",
            (event.tx_hash, event.log_index),
        )

    def events(self, name: str | None = None, job_id: int | None = None) -> list[EventRow]:
        query = f"SELECT {EVENT_COLUMNS} FROM events WHERE 1=1"
        params: list[Any] = []
        if name is not None:
            query += " AND name = ?"
            params.append(name)
        if job_id is not None:
            query += " AND job_id = ?"
            params.append(job_id)
        rows = self._db.execute(query + " ORDER BY block_number, log_index", params).fetchall()
        return [_event(r) for r in rows]

    # -- jobs --------------------------------------------------------------------------------------

    def job(self, job_id: int) -> JobRow | None:
        row = self._db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def jobs(self, *, active_only: bool = False) -> list[JobRow]:
        """All jobs, or only those not in a terminal phase (what the daemon visits every round)."""
        query = f"SELECT {JOB_COLUMNS} FROM jobs"
        params: list[str] = []
        if active_only:
            query += f" WHERE phase NOT IN ({', '.join('?' * len(TERMINAL))})"
            params = sorted(p.value for p in TERMINAL)
        return [_job(r) for r in self._db.execute(query + " ORDER BY job_id", params).fetchall()]

    def add_job(self, job_id: int, phase: Phase, info: dict[str, Any], reason: str = "") -> bool:
        """Insert a job seen for the first time; False (and no change) if it is already known."""
        now = time.time()
        cur = self._db.execute(
            "INSERT OR IGNORE INTO jobs (job_id, phase, reason, info, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, phase.value, reason, json.dumps(info, sort_keys=True, default=str), now, now),
        )
        return cur.rowcount == 1

    def forget_job(self, job_id: int) -> None:
        """Remove a job whose creation a reorganisation undid, so its JobCreated is considered afresh."""
        self._db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def update_job(self, job_id: int, phase: Phase | None = None, **fields: Any) -> None:
        allowed = {"reason", "salt", "result_cid", "digest", "earned", "slashed", "busy_seconds", "info"}
        unknown = set(fields) - allowed
        if unknown:
            raise LedgerError(f"unknown job fields {sorted(unknown)}")
        values = {k: (str(v) if k in ("earned", "slashed") else v) for k, v in fields.items()}
        if "info" in values:
            values["info"] = json.dumps(values["info"], sort_keys=True, default=str)
        if phase is not None:
            values["phase"] = phase.value
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{k} = ?" for k in values)
        cur = self._db.execute(f"UPDATE jobs SET {assignments} WHERE job_id = ?", (*values.values(), job_id))
        if cur.rowcount != 1:
            raise LedgerError(f"job {job_id} is not in the ledger")

    def save_salt(self, job_id: int, salt: str) -> str:
        """Store the commit salt once; a second call returns the first salt, so a retry commits the same."""
        with self.transaction() as db:
            row = db.execute("SELECT salt FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise LedgerError(f"job {job_id} is not in the ledger")
            if row[0]:
                return str(row[0])
            db.execute(
                "UPDATE jobs SET salt = ?, phase = ?, updated_at = ? WHERE job_id = ?",
                (salt, Phase.COMMITTING.value, time.time(), job_id),
            )
        return salt

    def quarantined(self) -> list[JobRow]:
        """Jobs set aside after their retry budget ran out (for `node status`)."""
        return [j for j in self.jobs() if j.phase is Phase.QUARANTINED]

    def release(self, job_id: int) -> Phase | None:
        """Give a quarantined job back to the daemon, which takes it up on its next round with a fresh
        retry budget: the job returns to the phase it was quarantined in (one quarantined before it
        had a phase is forgotten, so its JobCreated is considered afresh), and its events are read
        again, since an event that came while it was set aside (its settlement, say) was only noted.
        Returns the phase it went back to (None: forgotten)."""
        with self.transaction() as db:
            row = db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise UnknownJobError(f"job {job_id} is not in the ledger {self.path}")
            job = _job(row)
            if job.phase is not Phase.QUARANTINED:
                raise JobNotQuarantinedError(f"job {job_id} is {job.phase.value}, not quarantined")
            before = job.info.get("quarantined_from")
            if before is None:
                db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
            else:
                info = {k: v for k, v in job.info.items() if k != "quarantined_from"}
                db.execute(
                    "UPDATE jobs SET phase = ?, reason = '', info = ?, updated_at = ? WHERE job_id = ?",
                    (before, json.dumps(info, sort_keys=True, default=str), time.time(), job_id),
                )
            # Handlers look at the job's phase first, so reading an event twice changes nothing twice.
            db.execute("UPDATE events SET handled = 0 WHERE job_id = ?", (job_id,))
        return None if before is None else Phase(before)

    def counts_by_phase(self) -> dict[str, int]:
        rows = self._db.execute("SELECT phase, COUNT(*) FROM jobs GROUP BY phase").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def busy_seconds(self) -> float:
        """Compute time of all the node's jobs."""
        return float(self._db.execute("SELECT COALESCE(SUM(busy_seconds), 0) FROM jobs").fetchone()[0])

    def totals(self) -> dict[str, int]:
        """Earnings and slashes summed over jobs (uint256 sums in Python, not SQLite's int64)."""
        rows = self._db.execute("SELECT earned, slashed FROM jobs").fetchall()
        return {"earned": sum(int(r[0]) for r in rows), "slashed": sum(int(r[1]) for r in rows)}

    # -- transactions ---------------------------------------------------------------------------------

    def journal_tx(self, tx: TxRow) -> None:
        """Write a signed transaction before it is broadcast, so a restart can re-send the same bytes."""
        self._db.execute(
            "INSERT INTO txs (tx_hash, nonce, action, job_id, raw, status, max_fee, tip, sent_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (tx.tx_hash, tx.nonce, tx.action, tx.job_id, tx.raw, tx.status.value, tx.max_fee, tx.tip,
             tx.sent_at),
        )  # fmt: skip

    def set_tx_status(self, tx_hash: str, status: TxStatus, error: str = "") -> None:
        self._db.execute(
            "UPDATE txs SET status = ?, error = ? WHERE tx_hash = ?", (status.value, error, tx_hash)
        )

    def txs(self, *, status: TxStatus | None = None, nonce: int | None = None) -> list[TxRow]:
        query = f"SELECT {TX_COLUMNS} FROM txs WHERE 1=1"
        params: list[Any] = []
        if status is not None:
            query += " AND status = ?"
            params.append(status.value)
        if nonce is not None:
            query += " AND nonce = ?"
            params.append(nonce)
        rows = self._db.execute(query + " ORDER BY nonce, sent_at", params).fetchall()
        return [_tx(r) for r in rows]

    def job_txs(self, job_id: int | None, action: str) -> list[TxRow]:
        """The txs of `job_id`'s `action` (job_id None: of an action for no job, such as withdraw)."""
        rows = self._db.execute(
            f"SELECT {TX_COLUMNS} FROM txs WHERE job_id IS ? AND action = ? ORDER BY nonce, sent_at",
            (job_id, action),
        ).fetchall()
        return [_tx(r) for r in rows]


def _job(r: tuple[Any, ...]) -> JobRow:
    return JobRow(r[0], Phase(r[1]), r[2], json.loads(r[3]), r[4], r[5], r[6], int(r[7]), int(r[8]), r[9])


def _event(r: tuple[Any, ...]) -> EventRow:
    return EventRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]))


def _tx(r: tuple[Any, ...]) -> TxRow:
    return TxRow(r[0], r[1], r[2], r[3], r[4], TxStatus(r[5]), r[6], r[7], r[8], r[9])
