"""Which devices the provider has, on which hosts, and who holds them: all-or-nothing reservations with
expiring leases and worker heartbeats, behind one interface (SQLite on one host; Redis or PostgreSQL for a
cluster, in node.worker.cluster_registry, which also opens the one the settings name)."""

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.worker.errors import DevicesUnavailableError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS device (
    queue TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '127.0.0.1',
    memory_mib INTEGER NOT NULL DEFAULT 0,
    device_class TEXT NOT NULL DEFAULT '',
    job_id TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    last_seen REAL NOT NULL DEFAULT 0
)
"""
# Columns a file written before hosts and heartbeats existed lacks (added in place).
_ADDED = {
    "host": "TEXT NOT NULL DEFAULT ''",
    "address": "TEXT NOT NULL DEFAULT '127.0.0.1'",
    "memory_mib": "INTEGER NOT NULL DEFAULT 0",
    "device_class": "TEXT NOT NULL DEFAULT ''",
    "last_seen": "REAL NOT NULL DEFAULT 0",
}
FIELDS = ("queue", "device_id", "kind", "pid", "host", "address", "memory_mib", "device_class")


@dataclass(frozen=True)
class Device:
    """One device worker: its queue (unique on the broker), device id, kind, worker pid, and where it runs:
    the host's label, the address other hosts reach its ranks on, its memory and determinism class."""

    queue: str
    device_id: str
    kind: str
    pid: int
    host: str = ""
    address: str = "127.0.0.1"
    memory_mib: int = 0
    # 0x-hex class of neurolink.verification.suite where the pool was told it; "" when not measured.
    device_class: str = ""


@dataclass(frozen=True)
class DeviceState:
    """A registered device as the registry holds it: who leases it until when, when its worker last beat."""

    device: Device
    job_id: str | None
    lease_until: float
    # 0: registered, no heartbeat yet (the pool's readiness check covers a worker that never starts).
    last_seen: float

    def alive(self, now: float, dead_after_s: float) -> bool:
        return self.last_seen == 0 or now - self.last_seen <= dead_after_s

    def held(self, now: float) -> bool:
        return self.job_id is not None and self.lease_until >= now

    def state(self, now: float, dead_after_s: float) -> str:
        """`dead` (heartbeat stopped), `reserved` (under a live lease) or `free`."""
        if not self.alive(now, dead_after_s):
            return "dead"
        return "reserved" if self.held(now) else "free"


def choose(
    states: list[DeviceState], job_id: str, count: int, *, now: float, dead_after_s: float, spread: bool
) -> list[Device] | None:
    """The devices `job_id` gets: `count` free live devices on one host (the fullest host that fits, so
    big jobs keep finding whole hosts), else, when `spread`, spilled over the fewest hosts; None when too
    few are free now, or the job id still holds devices (a re-dispatch waits for the old lease to end).

    Raises DevicesUnavailableError when the live devices could never fit the job."""
    live = [s for s in states if s.alive(now, dead_after_s)]
    by_host: dict[str, list[DeviceState]] = {}
    for s in live:
        by_host.setdefault(s.device.host, []).append(s)
    if spread and len(live) < count:
        raise DevicesUnavailableError(f"job needs {count} devices, {len(live)} live devices are registered")
    largest = max((len(v) for v in by_host.values()), default=0)
    if not spread and largest < count:
        more = " (set requirements.spread_hosts to span hosts)" if len(live) >= count else ""
        raise DevicesUnavailableError(
            f"job needs {count} devices on one host, the largest has {largest}{more}"
        )
    if any(s.job_id == job_id and s.held(now) for s in states):
        return None
    free: dict[str, list[Device]] = {}
    for host, members in by_host.items():
        devices = sorted((s.device for s in members if not s.held(now)), key=lambda d: d.queue)
        if devices:
            free[host] = devices
    fits = [h for h, devices in free.items() if len(devices) >= count]
    if fits:
        best = min(fits, key=lambda h: (len(free[h]), h))
        return free[best][:count]
    if not spread or sum(len(d) for d in free.values()) < count:
        return None
    chosen: list[Device] = []
    # Rank 0 (the rendezvous) lands on the host holding the most ranks.
    for host in sorted(free, key=lambda h: (-len(free[h]), h)):
        chosen += free[host][: count - len(chosen)]
        if len(chosen) == count:
            break
    return chosen


class DeviceRegistry(ABC):
    """Devices and their reservations, shared by every worker pool and dispatcher that opens the same store.

    `dead_after_s`: a device whose worker has not beaten for that long is dead: never reserved, and a
    dispatcher holding it fails the attempt (WorkerCrashed) rather than wait for the job's deadline.
    """

    dead_after_s: float

    @abstractmethod
    def register(self, devices: list[Device]) -> None:
        """Add or replace `devices`, free and not yet heartbeating."""

    @abstractmethod
    def deregister(self, queues: list[str]) -> None: ...

    @abstractmethod
    def heartbeat(self, queues: list[str]) -> None:
        """Record that the workers of `queues` are alive now."""

    @abstractmethod
    def states(self) -> list[DeviceState]:
        """Every registered device with its lease and heartbeat, by host and queue."""

    @abstractmethod
    def _reserve_once(self, job_id: str, count: int, lease_s: float, spread: bool) -> list[Device] | None:
        """One atomic `choose` + lease write."""

    @abstractmethod
    def release(self, job_id: str) -> None: ...

    @abstractmethod
    def now(self) -> float:
        """The registry's clock (the shared server's, for a cluster: hosts' clocks may disagree)."""

    def devices(self) -> list[Device]:
        return [s.device for s in self.states()]

    def try_reserve(
        self, job_id: str, count: int, lease_s: float, spread: bool = False
    ) -> list[Device] | None:
        """Reserve `count` free devices for `job_id` at once, or none; None if too few are free."""
        return self._reserve_once(job_id, count, lease_s, spread)

    def reserve(
        self, job_id: str, count: int, lease_s: float, wait_s: float = 0.0, spread: bool = False
    ) -> list[Device]:
        """Like try_reserve, polling up to `wait_s` for devices to free up."""
        give_up = time.monotonic() + wait_s
        while True:
            devices = self.try_reserve(job_id, count, lease_s, spread)
            if devices is not None:
                return devices
            if time.monotonic() >= give_up:
                raise DevicesUnavailableError(f"fewer than {count} devices free (waited {wait_s:.1f} s)")
            time.sleep(0.02)

    def dead(self, queues: Iterable[str]) -> list[Device]:
        """Those of `queues` whose worker stopped beating (or that were deregistered)."""
        wanted = set(queues)
        now = self.now()
        states = {s.device.queue: s for s in self.states() if s.device.queue in wanted}
        gone = [Device(q, "", "", 0) for q in sorted(wanted - set(states))]
        return gone + [s.device for s in states.values() if not s.alive(now, self.dead_after_s)]

    def close(self) -> None:  # noqa: B027 (a no-op is right for the file-backed registry)
        """Release connections (no-op where there are none)."""


class SQLiteRegistry(DeviceRegistry):
    """The embedded registry: a SQLite file shared by the worker pool and dispatchers on one host."""

    def __init__(self, path: Path, dead_after_s: float = 10.0) -> None:
        self.path = path
        self.dead_after_s = dead_after_s
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as db:
            db.execute(_SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(device)")}
            for column, decl in _ADDED.items():
                if column not in have:
                    db.execute(f"ALTER TABLE device ADD COLUMN {column} {decl}")
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

    def now(self) -> float:
        return time.time()

    def register(self, devices: list[Device]) -> None:
        columns = ", ".join(FIELDS)
        updates = ", ".join(f"{f}=excluded.{f}" for f in FIELDS[1:])
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO device ({columns}) VALUES ({', '.join('?' * len(FIELDS))}) "
                f"ON CONFLICT(queue) DO UPDATE SET {updates}, job_id=NULL, lease_until=0, last_seen=0",
                [tuple(getattr(d, f) for f in FIELDS) for d in devices],
            )

    def deregister(self, queues: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM device WHERE queue = ?", [(q,) for q in queues])

    def heartbeat(self, queues: list[str]) -> None:
        now = self.now()
        with self._tx() as db:
            db.executemany("UPDATE device SET last_seen = ? WHERE queue = ?", [(now, q) for q in queues])

    def states(self) -> list[DeviceState]:
        with self._tx() as db:
            return self._states(db)

    @staticmethod
    def _states(db: sqlite3.Connection) -> list[DeviceState]:
        rows = db.execute(
            f"SELECT {', '.join(FIELDS)}, job_id, lease_until, last_seen FROM device ORDER BY host, queue"
        ).fetchall()
        n = len(FIELDS)
        return [DeviceState(Device(*row[:n]), row[n], row[n + 1], row[n + 2]) for row in rows]

    def _reserve_once(self, job_id: str, count: int, lease_s: float, spread: bool) -> list[Device] | None:
        now = self.now()
        with self._tx() as db:
            chosen = choose(
                self._states(db), job_id, count, now=now, dead_after_s=self.dead_after_s, spread=spread
            )
            if chosen:
                db.executemany(
                    "UPDATE device SET job_id = ?, lease_until = ? WHERE queue = ?",
                    [(job_id, now + lease_s, d.queue) for d in chosen],
                )
        return chosen

    def release(self, job_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE device SET job_id = NULL, lease_until = 0 WHERE job_id = ?", (job_id,))


def device_report(registry: DeviceRegistry) -> list[dict[str, Any]]:
    """Every registered device with its host and state, as `node status` and the metrics show them."""
    now = registry.now()
    return [
        {
            "host": s.device.host,
            "queue": s.device.queue,
            "device": s.device.device_id,
            "kind": s.device.kind,
            "memory_mib": s.device.memory_mib,
            "device_class": s.device.device_class,
            "state": s.state(now, registry.dead_after_s),
            "job_id": s.job_id if s.held(now) else None,
            "heartbeat_age_s": round(now - s.last_seen, 3) if s.last_seen else None,
        }
        for s in registry.states()
    ]
