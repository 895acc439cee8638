"""The device registry on every backend (SQLite file, Redis, PostgreSQL): all-or-nothing under concurrent
reservers, leases that expire, and devices whose worker stopped beating freed and never handed out."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REDIS_URL

from node.worker.cluster_registry import PostgresRegistry, RedisRegistry
from node.worker.registry import Device, DeviceRegistry, SQLiteRegistry

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEAD_AFTER_S = 0.6
Opener = Callable[[], DeviceRegistry]


def _open(backend: str, tmp_path: Path, namespace: str) -> DeviceRegistry:
    if backend == "sqlite":
        return SQLiteRegistry(tmp_path / "devices.sqlite", dead_after_s=DEAD_AFTER_S)
    if backend == "redis":
        return RedisRegistry(REDIS_URL, namespace, dead_after_s=DEAD_AFTER_S)
    return PostgresRegistry(POSTGRES, namespace, dead_after_s=DEAD_AFTER_S)


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Opener]]:
    """Opens registries on one store under a namespace of this test's own (sessions share the services)."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    opened: list[DeviceRegistry] = []

    def open_one() -> DeviceRegistry:
        reg = _open(request.param, tmp_path, namespace)
        opened.append(reg)
        return reg

    yield request.param, open_one
    opened[0].deregister([d.queue for d in opened[0].devices()])
    for reg in opened:
        reg.close()


def _hosts(n_hosts: int, per_host: int) -> list[Device]:
    return [
        Device(f"h{h}.dev{i}", f"cpu:{i}", "cpu", 1000 + i, host=f"host{h}", address=f"10.0.0.{h + 1}")
        for h in range(n_hosts)
        for i in range(per_host)
    ]


def test_concurrent_reservers_never_share_a_device(opener: tuple[str, Opener]) -> None:
    backend, open_one = opener
    first = open_one()
    first.register(_hosts(3, 2))
    regs = [open_one() for _ in range(6)]
    won: dict[str, list[Device]] = {}
    start = threading.Barrier(len(regs))

    def reserve(i: int, reg: DeviceRegistry) -> None:
        start.wait()
        # 6 jobs of 2 on 6 devices over 3 hosts, spreading allowed: 3 win, the others find too few free.
        got = reg.try_reserve(f"job-{i}", 2, lease_s=30, spread=True)
        if got is not None:
            won[f"job-{i}"] = got

    threads = [threading.Thread(target=reserve, args=(i, r)) for i, r in enumerate(regs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [d.queue for devices in won.values() for d in devices]
    assert len(taken) == len(set(taken)), f"{backend}: a device was reserved twice: {won}"
    assert len(won) == 3 and len(taken) == 6
    # Each 2-device job fitted on one host, so none was spread.
    assert all(len({d.host for d in devices}) == 1 for devices in won.values())
    holders = {s.device.queue: s.job_id for s in first.states()}
    assert all(holders[d.queue] == job for job, devices in won.items() for d in devices)


def test_lease_expiry_and_release(opener: tuple[str, Opener]) -> None:
    _, open_one = opener
    reg = open_one()
    reg.register(_hosts(2, 2))
    assert len(reg.reserve("crashed", 4, lease_s=0.3, spread=True)) == 4
    assert reg.try_reserve("next", 2, lease_s=30) is None
    time.sleep(0.4)
    assert len(reg.reserve("next", 2, lease_s=30)) == 2
    reg.release("next")
    assert {s.state(reg.now(), reg.dead_after_s) for s in reg.states()} == {"free"}


def test_a_host_whose_heartbeat_stops_loses_its_devices(opener: tuple[str, Opener]) -> None:
    _, open_one = opener
    reg = open_one()
    devices = _hosts(2, 2)
    reg.register(devices)
    held = reg.reserve("job", 4, lease_s=60, spread=True)
    alive = [d.queue for d in devices if d.host == "host0"]
    # host1's workers beat once, then die; host0's go on beating.
    reg.heartbeat([d.queue for d in devices])
    deadline = time.monotonic() + DEAD_AFTER_S + 0.5
    while time.monotonic() < deadline:
        reg.heartbeat(alive)
        time.sleep(0.1)
    dead = reg.dead(d.queue for d in held)
    assert sorted(d.queue for d in dead) == ["h1.dev0", "h1.dev1"]
    states = {s.device.queue: s.state(reg.now(), reg.dead_after_s) for s in reg.states()}
    assert states == {"h0.dev0": "reserved", "h0.dev1": "reserved", "h1.dev0": "dead", "h1.dev1": "dead"}
    # The attempt fails and releases: the job runs again on what is left, never on the dead host.
    reg.release("job")
    reg.heartbeat(alive)
    again = reg.reserve("job", 2, lease_s=60, spread=True)
    assert {d.host for d in again} == {"host0"}
    with pytest.raises(Exception, match="2 live devices"):
        reg.reserve("bigger", 3, lease_s=60, spread=True)
