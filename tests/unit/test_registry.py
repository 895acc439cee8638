"""Device reservations: all-or-nothing, exclusive between jobs, and leases that expire."""

from pathlib import Path

import pytest

from node.worker.errors import DevicesUnavailableError
from node.worker.registry import Device, DeviceRegistry


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    reg = DeviceRegistry(tmp_path / "devices.sqlite")
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
    with pytest.raises(DevicesUnavailableError, match="needs 4 devices, this host has 3"):
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
