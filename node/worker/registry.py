"""Which devices this host has and who holds them: all-or-nothing reservations with expiring leases."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from node.worker.errors import DevicesUnavailableError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS device (
    queue TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    pid INTEGER NOT NULL,
    job_id TEXT,
    lease_until REAL NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Device:
    """One device worker: its queue (unique on the broker), device id, kind and worker pid."""

    queue: str
    device_id: str
    kind: str
    pid: int


class DeviceRegistry:
    """Device reservations in a SQLite file shared by the worker pool and dispatchers on this host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as db:
            db.execute(_SCHEMA)
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front: two dispatchers never pick the same device.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        # Leases mean nothing after a machine crash: no fsync per reservation.
        db.execute("PRAGMA synchronous=OFF")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def register(self, devices: list[Device]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT INTO device (queue, device_id, kind, pid) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(queue) DO UPDATE SET device_id=excluded.device_id, kind=excluded.kind, "
                "pid=excluded.pid, job_id=NULL, lease_until=0",
                [(d.queue, d.device_id, d.kind, d.pid) for d in devices],
            )

    def deregister(self, queues: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM device WHERE queue = ?", [(q,) for q in queues])

    def devices(self) -> list[Device]:
        with self._tx() as db:
            rows = db.execute("SELECT queue, device_id, kind, pid FROM device ORDER BY queue").fetchall()
        return [Device(*row) for row in rows]

    def try_reserve(self, job_id: str, count: int, lease_s: float) -> list[Device] | None:
        """Reserve `count` free devices for `job_id` at once, or none; None if too few are free.

        A job id that still holds devices gets no more: a re-dispatch after a crash waits for
        its lease to run out, by which time its old ranks have been killed at their deadline.
        """
        now = time.time()
        with self._tx() as db:
            known = db.execute("SELECT COUNT(*) FROM device").fetchone()[0]
            if known < count:
                raise DevicesUnavailableError(f"job needs {count} devices, this host has {known}")
            held = db.execute(
                "SELECT COUNT(*) FROM device WHERE job_id = ? AND lease_until >= ?", (job_id, now)
            ).fetchone()[0]
            if held:
                return None
            rows = db.execute(
                "SELECT queue, device_id, kind, pid FROM device "
                "WHERE job_id IS NULL OR lease_until < ? ORDER BY queue LIMIT ?",
                (now, count),
            ).fetchall()
            if len(rows) < count:
                return None
            db.executemany(
                "UPDATE device SET job_id = ?, lease_until = ? WHERE queue = ?",
                [(job_id, now + lease_s, row[0]) for row in rows],
            )
        return [Device(*row) for row in rows]

    def reserve(self, job_id: str, count: int, lease_s: float, wait_s: float = 0.0) -> list[Device]:
        """Like try_reserve, polling up to `wait_s` for devices to free up."""
        give_up = time.monotonic() + wait_s
        while True:
            devices = self.try_reserve(job_id, count, lease_s)
            if devices is not None:
                return devices
            if time.monotonic() >= give_up:
                raise DevicesUnavailableError(f"fewer than {count} devices free (waited {wait_s:.1f} s)")
            time.sleep(0.02)

    def release(self, job_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE device SET job_id = NULL, lease_until = 0 WHERE job_id = ?", (job_id,))
