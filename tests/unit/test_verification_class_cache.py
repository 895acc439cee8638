"""The on-disk class cache answers for this machine's key only, runs the suite for any other, and never
trusts a damaged file."""

import json
from pathlib import Path

import pytest

from neurolink.verification.class_cache import MAX_ENTRIES, cached_host_class, machine_key
from neurolink.verification.emulation import Emulation
from neurolink.verification.suite import host_class


def test_a_remembered_class_is_answered_and_fresh_runs_the_suite_again(tmp_path: Path) -> None:
    path = tmp_path / "classes.json"
    real = cached_host_class(Emulation.NONE, 1, path=path)
    assert real == host_class(Emulation.NONE, 1)
    assert json.loads(path.read_text()) == {machine_key(Emulation.NONE, 1): real.hex()}

    # A planted answer is what a cached start believes (so the cache is what it reads)...
    planted = bytes(range(32))
    path.write_text(json.dumps({machine_key(Emulation.NONE, 1): planted.hex()}))
    assert cached_host_class(Emulation.NONE, 1, path=path) == planted
    # ...and what `node register` (fresh) overwrites with the suite's answer.
    assert cached_host_class(Emulation.NONE, 1, path=path, fresh=True) == real
    assert cached_host_class(Emulation.NONE, 1, path=path) == real


def test_the_key_changes_with_emulation_slots_and_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    base = machine_key(Emulation.NONE, 1)
    assert machine_key(Emulation.NONE, 1) == base
    assert machine_key(Emulation.TF32, 1) != base
    assert machine_key(Emulation.NONE, 2) != base
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert machine_key(Emulation.NONE, 1) != base


def test_the_key_changes_with_the_torch_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurolink.verification import class_cache

    base = machine_key(Emulation.NONE, 1)
    monkeypatch.setattr(class_cache, "_version", lambda dist: "99.0")
    assert machine_key(Emulation.NONE, 1) != base


@pytest.mark.parametrize(
    "damage",
    ["{not json", "[1, 2]", '{"KEY": "zz"}', '{"KEY": "00"}', '{"KEY": 5}'],
    ids=["not-json", "not-a-map", "not-hex", "short", "not-a-string"],
)
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "classes.json"
    key = machine_key(Emulation.NONE, 1)
    path.write_text(damage.replace("KEY", key))
    assert cached_host_class(Emulation.NONE, 1, path=path) == host_class(Emulation.NONE, 1)
    assert json.loads(path.read_text())[key] == host_class(Emulation.NONE, 1).hex()


def test_the_cache_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({f"old-{i}": bytes(32).hex() for i in range(MAX_ENTRIES + 5)}))
    cached_host_class(Emulation.NONE, 1, path=path)
    kept = json.loads(path.read_text())
    assert len(kept) == MAX_ENTRIES
    assert machine_key(Emulation.NONE, 1) in kept and "old-0" not in kept
