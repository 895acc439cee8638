"""The determinism suite: one class per device on repeat, another class under every emulated device."""

import itertools

import pytest
import torch

from neurolink.verification import emulation
from neurolink.verification.emulation import ENV_EMULATE, Emulation, EmulationError
from neurolink.verification.errors import SuiteError
from neurolink.verification.suite import device_class, suite_outputs


def test_same_device_same_class_on_repeat() -> None:
    first = device_class("cpu", Emulation.NONE)
    assert len(first) == 32
    assert device_class("cpu", Emulation.NONE) == first


def test_suite_covers_each_kernel_family() -> None:
    names = set(suite_outputs("cpu", Emulation.NONE))
    for needed in ("gemm.float32", "gemm.float64", "gemm.float16", "gemm.bfloat16", "conv2d", "attention"):
        assert needed in names
    assert {"sum", "softmax", "layer_norm", "cumsum"} <= names
    assert any(n.startswith("train.") for n in names)


def test_every_emulated_device_is_its_own_class() -> None:
    classes = {e: device_class("cpu", e) for e in Emulation}
    for a, b in itertools.combinations(Emulation, 2):
        assert classes[a] != classes[b], (a, b)


def test_emulation_changes_only_the_low_bits() -> None:
    base = suite_outputs("cpu", Emulation.NONE)
    for e in Emulation:
        other = suite_outputs("cpu", e)
        changed = [n for n in base if not torch.equal(base[n], other[n])]
        assert (e is Emulation.NONE) == (not changed), e
        for name in changed:
            a, b = base[name].double(), other[name].double()
            # Another rounding of the same computation: close, never another result.
            assert float((a - b).norm() / a.norm()) < 5e-3, (e, name)


def test_suite_leaves_the_process_as_it_found_it() -> None:
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    state = torch.random.get_rng_state()
    device_class("cpu", Emulation.THREADS)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.random.get_rng_state(), state)


def test_class_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_EMULATE, "tf32")
    assert emulation.from_env() is Emulation.TF32
    assert device_class("cpu") == device_class("cpu", Emulation.TF32)
    monkeypatch.setenv(ENV_EMULATE, "warp-drive")
    with pytest.raises(EmulationError, match="unknown device emulation 'warp-drive'; one of: none"):
        emulation.from_env()


def test_unknown_device_is_refused() -> None:
    with pytest.raises(SuiteError, match="cannot run the determinism suite on 'nonsense'"):
        device_class("nonsense")


def test_batch_order_reverses_rows() -> None:
    assert emulation.row_order(4, Emulation.BATCH_ORDER) == [3, 2, 1, 0]
    assert emulation.row_order(4, Emulation.TF32) == [0, 1, 2, 3]


def test_host_class_is_the_cpu_class_as_a_job_process_computes_it() -> None:
    from neurolink.verification.suite import host_class, job_settings

    if torch.cuda.is_available():
        pytest.skip("a GPU machine's class is its GPUs'")
    from neurolink.machine import worker_threads

    threads, tf32 = torch.get_num_threads(), torch.backends.cudnn.allow_tf32
    # A class depends on the thread count; a job process of one CPU slot runs with all the cores.
    with job_settings(worker_threads(0, 1)):
        plain, tf32_class = device_class("cpu", Emulation.NONE), device_class("cpu", Emulation.TF32)
    assert host_class(Emulation.NONE, 1) == plain
    assert host_class(Emulation.TF32, 1) == tf32_class != plain
    with job_settings(1):
        assert torch.get_num_threads() == 1 and not torch.backends.cudnn.allow_tf32
    assert torch.get_num_threads() == threads and torch.backends.cudnn.allow_tf32 == tf32
