"""The device registry of a provider spanning hosts: on the broker's Redis, or on PostgreSQL; and
`open_registry`, the registry the settings name, with the heartbeat every worker sends to it.

Both keep `node.worker.registry`'s rules (all-or-nothing, leases, heartbeats) atomic across hosts and
read time from the server, so leases do not depend on the hosts' clocks agreeing.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from neurolink.config import Settings
from node.worker.registry import FIELDS, Device, DeviceRegistry, DeviceState, SQLiteRegistry, choose

log = logging.getLogger(__name__)
T = TypeVar("T")
# Sets last_seen only on devices still registered: a late beat must not resurrect a deregistered one.
_HEARTBEAT_LUA = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'last_seen', ARGV[1]) end
end
return 0
"""


class RedisRegistry(DeviceRegistry):
    """Devices as hashes `nl:reg:<ns>:dev:<queue>`, listed in a set; every change that decides a
    reservation bumps a version key, and reservations and releases are optimistic transactions over it
    (WATCH/MULTI): two reservers never both win a device. Heartbeats write beside it, never conflicting."""

    def __init__(self, url: str, namespace: str, dead_after_s: float = 10.0) -> None:
        import redis

        self.dead_after_s = dead_after_s
        # Typed loosely: redis-py's stubs type replies for bytes and str clients alike.
        self.r: Any = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = f"nl:reg:{namespace}"
        self._beat = self.r.register_script(_HEARTBEAT_LUA)

    def _key(self, queue: str) -> str:
        return f"{self.prefix}:dev:{queue}"

    @property
    def _set(self) -> str:
        return f"{self.prefix}:devs"

    @property
    def _version(self) -> str:
        return f"{self.prefix}:ver"

    def now(self) -> float:
        seconds, micros = self.r.time()
        return float(seconds) + float(micros) / 1e6

    def register(self, devices: list[Device]) -> None:
        with self.r.pipeline() as p:
            for d in devices:
                fields: dict[str, Any] = {f: getattr(d, f) for f in FIELDS}
                p.delete(self._key(d.queue))
                p.hset(self._key(d.queue), mapping={**fields, "job_id": "", "lease_until": 0, "last_seen": 0})
                p.sadd(self._set, d.queue)
            p.incr(self._version)
            p.execute()

    def deregister(self, queues: list[str]) -> None:
        if not queues:
            return
        with self.r.pipeline() as p:
            p.srem(self._set, *queues)
            p.delete(*(self._key(q) for q in queues))
            p.incr(self._version)
            p.execute()

    def heartbeat(self, queues: list[str]) -> None:
        if queues:
            self._beat(keys=[self._key(q) for q in queues], args=[self.now()])

    def states(self) -> list[DeviceState]:
        queues = sorted(self.r.smembers(self._set))
        with self.r.pipeline(transaction=False) as p:
            for q in queues:
                p.hgetall(self._key(q))
            rows = p.execute()
        states = [_state(row) for row in rows if row]
        return sorted(states, key=lambda s: (s.device.host, s.device.queue))

    def _optimistic(self, body: Callable[[Any], T]) -> T:
        """Run `body(pipeline)` until no reservation-deciding change slipped in between read and write."""
        import redis

        with self.r.pipeline() as p:
            while True:
                try:
                    p.watch(self._version)
                    return body(p)
                except redis.WatchError:
                    continue

    def _reserve_once(self, job_id: str, count: int, lease_s: float, spread: bool) -> list[Device] | None:
        def attempt(p: Any) -> list[Device] | None:
            now = self.now()
            chosen = choose(
                self.states(), job_id, count, now=now, dead_after_s=self.dead_after_s, spread=spread
            )
            if not chosen:
                p.unwatch()
                return chosen
            p.multi()
            for d in chosen:
                p.hset(self._key(d.queue), mapping={"job_id": job_id, "lease_until": now + lease_s})
            p.incr(self._version)
            p.execute()
            return chosen

        return self._optimistic(attempt)

    def release(self, job_id: str) -> None:
        def attempt(p: Any) -> None:
            mine = [s.device.queue for s in self.states() if s.job_id == job_id]
            p.multi()
            for q in mine:
                p.hset(self._key(q), mapping={"job_id": "", "lease_until": 0})
            p.incr(self._version)
            p.execute()

        self._optimistic(attempt)

    def close(self) -> None:
        self.r.close()


def _state(row: dict[str, str]) -> DeviceState:
    device = Device(
        queue=row["queue"],
        device_id=row["device_id"],
        kind=row["kind"],
        pid=int(row["pid"]),
        host=row["host"],
        address=row["address"],
        memory_mib=int(row["memory_mib"]),
        device_class=row["device_class"],
    )
    return DeviceState(device, row["job_id"] or None, float(row["lease_until"]), float(row["last_seen"]))


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS neurolink_device (
    ns TEXT NOT NULL,
    queue TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    address TEXT NOT NULL,
    memory_mib INTEGER NOT NULL,
    device_class TEXT NOT NULL,
    job_id TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_seen DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (ns, queue)
)
"""
_NOW = "extract(epoch from clock_timestamp())::double precision"


class PostgresRegistry(DeviceRegistry):
    """Devices as rows of `neurolink_device` under a namespace (the queue prefix); a reservation locks
    the namespace's rows (SELECT … FOR UPDATE) for its transaction, so reservers take turns."""

    def __init__(self, url: str, namespace: str, dead_after_s: float = 10.0) -> None:
        import psycopg

        self.dead_after_s = dead_after_s
        self.ns = namespace
        self._db = psycopg.connect(url, autocommit=False)
        self._lock = threading.Lock()
        with self._tx() as cur:
            # Sessions creating the table at once would collide in the catalog: one at a time.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('neurolink_device'))")
            cur.execute(_PG_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock, self._db.transaction(), self._db.cursor() as cur:
            yield cur

    def now(self) -> float:
        with self._tx() as cur:
            cur.execute(f"SELECT {_NOW}")
            return float(cur.fetchone()[0])

    def register(self, devices: list[Device]) -> None:
        columns = ", ".join(FIELDS)
        values = ", ".join(["%s"] * (len(FIELDS) + 1))
        updates = ", ".join(f"{f}=excluded.{f}" for f in FIELDS[1:])
        with self._tx() as cur:
            cur.executemany(
                f"INSERT INTO neurolink_device (ns, {columns}) VALUES ({values}) "
                f"ON CONFLICT (ns, queue) DO UPDATE SET {updates}, job_id=NULL, lease_until=0, last_seen=0",
                [(self.ns, *(getattr(d, f) for f in FIELDS)) for d in devices],
            )

    def deregister(self, queues: list[str]) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM neurolink_device WHERE ns = %s AND queue = ANY(%s)", (self.ns, queues))

    def heartbeat(self, queues: list[str]) -> None:
        with self._tx() as cur:
            cur.execute(
                f"UPDATE neurolink_device SET last_seen = {_NOW} WHERE ns = %s AND queue = ANY(%s)",
                (self.ns, queues),
            )

    def states(self) -> list[DeviceState]:
        with self._tx() as cur:
            return self._states(cur, lock=False)

    def _states(self, cur: Any, lock: bool) -> list[DeviceState]:
        cur.execute(
            f"SELECT {', '.join(FIELDS)}, job_id, lease_until, last_seen FROM neurolink_device "
            f"WHERE ns = %s ORDER BY host, queue{' FOR UPDATE' if lock else ''}",
            (self.ns,),
        )
        n = len(FIELDS)
        return [DeviceState(Device(*row[:n]), row[n], row[n + 1], row[n + 2]) for row in cur.fetchall()]

    def _reserve_once(self, job_id: str, count: int, lease_s: float, spread: bool) -> list[Device] | None:
        with self._tx() as cur:
            states = self._states(cur, lock=True)
            cur.execute(f"SELECT {_NOW}")
            now = float(cur.fetchone()[0])
            chosen = choose(states, job_id, count, now=now, dead_after_s=self.dead_after_s, spread=spread)
            if chosen:
                cur.executemany(
                    "UPDATE neurolink_device SET job_id = %s, lease_until = %s WHERE ns = %s AND queue = %s",
                    [(job_id, now + lease_s, self.ns, d.queue) for d in chosen],
                )
        return chosen

    def release(self, job_id: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE neurolink_device SET job_id = NULL, lease_until = 0 WHERE ns = %s AND job_id = %s",
                (self.ns, job_id),
            )

    def close(self) -> None:
        self._db.close()


def open_registry(settings: Settings) -> DeviceRegistry:
    """The registry `settings` name: `device_registry` "auto" is the broker's Redis when the broker is
    Redis, else the embedded SQLite file; "sqlite", or a redis:// or postgresql:// URL, chooses."""
    url = registry_url(settings)
    dead_after = settings.worker_dead_after_s
    if url == "sqlite":
        return SQLiteRegistry(settings.home / "devices.sqlite", dead_after_s=dead_after)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRegistry(url, settings.queue_prefix, dead_after_s=dead_after)
    return PostgresRegistry(url, settings.queue_prefix, dead_after_s=dead_after)


def registry_url(settings: Settings) -> str:
    chosen = settings.device_registry
    if chosen == "auto":
        return settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else "sqlite"
    return chosen


def start_heartbeat(settings: Settings, queue: str) -> threading.Thread:
    """Beat for this worker's device every fifth of `worker_dead_after_s`, in a daemon thread: it beats
    while the worker waits on a job (the job runs in another process), and stops when the worker dies."""
    period = settings.worker_dead_after_s / 5

    def beat() -> None:
        registry: DeviceRegistry | None = None
        while True:
            try:
                registry = registry or open_registry(settings)
                registry.heartbeat([queue])
            except Exception as exc:  # the registry's service away for a moment: beat again next period
                log.warning("heartbeat failed: %s", exc)
                registry = None
            time.sleep(period)

    thread = threading.Thread(target=beat, name=f"heartbeat-{queue}", daemon=True)
    thread.start()
    return thread
