"""Device reservations: all-or-nothing, exclusive between jobs, and leases that expire."""

from pathlib import Path

import pytest

from node.worker.errors import DevicesUnavailableError
from node.worker.registry import Device, DeviceRegistry, DeviceState, SQLiteRegistry, choose


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    reg = SQLiteRegistry(tmp_path / "devices.sqlite")
    reg.register([Device(f"q.dev{i}", f"cpu:{i}", "cpu", 100 + i) for i in range(3)])
    return reg


def test_reservation_is_all_or_nothing_and_exclusive(registry: DeviceRegistry) -> None:
    first = registry.reserve("job-a", 2, lease_s=60)
    assert [d.queue for d in first] == ["q.dev0", "q.dev1"]
    # Two devices asked, one free: nothing is taken, so job-c can still get the free one.
    assert registry.try_reserve("job-b", 2, lease_s=60) is None
    assert [d.queue for d in registry.reserve("job-c", 1, lease_s=60)] == ["q.dev2"]
    with pytest.raises(DevicesUnavailableError, match="fewer than 1 devices free"):
        registry.reserve("job-d", 1, lease_s=60, wait_s=0.05)
    registry.release("job-a")
    assert len(registry.reserve("job-b", 2, lease_s=60)) == 2


def test_expired_lease_frees_the_device(registry: DeviceRegistry) -> None:
    registry.reserve("crashed-dispatcher", 3, lease_s=-1)
    assert len(registry.reserve("next", 3, lease_s=60)) == 3


def test_more_devices_than_the_host_has_fails_at_once(registry: DeviceRegistry) -> None:
    with pytest.raises(DevicesUnavailableError, match="needs 4 devices on one host, the largest has 3"):
        registry.reserve("big", 4, lease_s=60, wait_s=30)


def test_deregistered_devices_are_gone(registry: DeviceRegistry) -> None:
    registry.deregister(["q.dev0", "q.dev1"])
    assert [d.queue for d in registry.devices()] == ["q.dev2"]


def test_a_job_id_holding_devices_cannot_take_more(registry: DeviceRegistry) -> None:
    registry.reserve("job-a", 2, lease_s=60)
    # A device is still free, so only the rule itself can refuse this (a re-dispatch after a
    # crash must wait for its old lease, whose ranks may still be running).
    assert registry.try_reserve("job-a", 1, lease_s=60) is None
    assert [d.queue for d in registry.reserve("job-b", 1, lease_s=60)] == ["q.dev2"]


def test_a_job_id_whose_lease_expired_may_reserve_again(registry: DeviceRegistry) -> None:
    registry.reserve("job-a", 2, lease_s=-1)
    assert len(registry.reserve("job-a", 3, lease_s=60)) == 3


def _states(hosts: dict[str, int], held: dict[str, int] | None = None) -> list[DeviceState]:
    """Live devices `<host>.dev<i>`, the first `held[host]` of each host leased to another job."""
    states = []
    for host, n in hosts.items():
        for i in range(n):
            busy = i < (held or {}).get(host, 0)
            device = Device(f"{host}.dev{i}", f"cpu:{i}", "cpu", 1, host=host)
            states.append(DeviceState(device, "other" if busy else None, 1e12 if busy else 0, 0))
    return states


def test_a_job_takes_one_host_whenever_one_fits() -> None:
    # Best fit: the host with the fewest free devices that still holds the whole job.
    chosen = choose(_states({"a": 4, "b": 2}), "j", 2, now=100, dead_after_s=5, spread=True)
    assert chosen is not None and {d.host for d in chosen} == {"b"}


def test_a_job_spills_over_hosts_only_when_its_spec_allows() -> None:
    states = _states({"a": 2, "b": 3, "c": 2}, held={"a": 1, "b": 1})
    # Three free on b would fit a 3-rank job only once b's lease ends: wait rather than spill.
    assert choose(states, "j", 3, now=100, dead_after_s=5, spread=False) is None
    chosen = choose(states, "j", 4, now=100, dead_after_s=5, spread=True)
    assert chosen is not None
    # The fewest hosts, rank 0 on the one holding the most ranks.
    assert [d.queue for d in chosen] == ["b.dev1", "b.dev2", "c.dev0", "c.dev1"]
    # Enough devices in all, none on one host: refused at once, naming the spec field.
    with pytest.raises(DevicesUnavailableError, match="spread_hosts"):
        choose(_states({"a": 2, "b": 2}), "j", 4, now=100, dead_after_s=5, spread=False)


def test_dead_devices_are_never_chosen_and_do_not_count() -> None:
    states = [
        DeviceState(s.device, s.job_id, s.lease_until, 50.0 if s.device.host == "a" else 99.0)
        for s in _states({"a": 2, "b": 2})
    ]
    chosen = choose(states, "j", 2, now=100, dead_after_s=5, spread=True)
    assert chosen is not None and {d.host for d in chosen} == {"b"}
    with pytest.raises(DevicesUnavailableError, match="2 live devices"):
        choose(states, "j", 3, now=100, dead_after_s=5, spread=True)
