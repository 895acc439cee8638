"""Jobs through real Celery device workers: results, reproducibility, ranks, limits and bad input."""

import hashlib
import io
import os
import pickle
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import torch
from execution_support import SLOTS, Node
from safetensors.torch import load as load_tensors

from neurolink.spec import JobSpec, Limits, Requirements
from neurolink.verification.suite import job_settings
from node.worker.app import TASK_RUN_RANK
from node.worker.dispatch import JobResult
from node.worker.errors import (
    DevicesUnavailableError,
    InputTooLargeError,
    InvalidJobError,
    JobTimeoutError,
    MissingInputError,
    OutOfMemoryError,
    OutputTooLargeError,
    UnsafeInputError,
)
from node.worker.samples import (
    SampleJob,
    benchmark_job,
    dataset_bytes,
    inference_job,
    program_bytes,
    tensors_bytes,
    train_job,
)
from node.worker.workloads.benchmark import gemm_operands


def _run(node: Node, job: SampleJob, **kwargs: object) -> JobResult:
    return node.dispatcher.run(f"t-{job.name}-{uuid.uuid4().hex[:10]}", job.spec, job.inputs, **kwargs)  # type: ignore[arg-type]


def _workers_alive(node: Node) -> None:
    for pid in node.worker_pids:
        os.kill(pid, 0)  # raises if the worker process is gone


def test_benchmark_is_the_exact_gemm_and_reproducible(node: Node) -> None:
    job = benchmark_job(size=128)
    first, second = _run(node, job), _run(node, job)
    assert first.read_bytes() == second.read_bytes()
    assert first.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
    # The worker computed exactly torch.mm of the seeded operands (same thread count as a slot).
    with job_settings(max(1, (os.cpu_count() or 1) // SLOTS)):  # restores this process's threads after
        a, b = gemm_operands(128, torch.float32, job.spec.seed, torch.device("cpu"))
        expected = hashlib.sha256(torch.mm(a, b).view(torch.uint8).numpy().tobytes()).hexdigest()
    assert first.metrics["tflops"][0] > 0
    assert f'"sha256":["{expected}"]' in first.read_bytes().decode()


def test_inference_outputs_match_the_program_and_are_reproducible(node: Node) -> None:
    job = inference_job(rows=40)
    first, second = _run(node, job), _run(node, job)
    assert first.read_bytes() == second.read_bytes() and first.sha256 == second.sha256
    program = torch.export.load(io.BytesIO(job.inputs["model"])).module(check_guards=False)
    batch = load_tensors(job.inputs["batch"])["input"]
    output = load_tensors(first.read_bytes())["output"]
    assert output.shape == (40, 4)
    torch.testing.assert_close(output, program(batch))


def test_two_rank_inference_gathers_rows_in_order(node: Node) -> None:
    single, split = _run(node, inference_job(rows=37)), _run(node, inference_job(devices=2, rows=37))
    assert len(set(split.devices)) == 2
    torch.testing.assert_close(
        load_tensors(split.read_bytes())["output"], load_tensors(single.read_bytes())["output"]
    )


def test_training_is_reproducible_and_learns(node: Node) -> None:
    job = train_job(epochs=3)
    first, second = _run(node, job), _run(node, job)
    assert first.read_bytes() == second.read_bytes()
    losses = first.metrics["epoch_loss"]
    assert losses == second.metrics["epoch_loss"]
    assert losses[-1] < 0.5 * losses[0], f"training did not learn: {losses}"
    weights = load_tensors(first.read_bytes())
    assert sorted(weights) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert all(t.dtype == torch.float32 for t in weights.values())


def test_two_rank_training_is_reproducible_and_tracks_one_rank(node: Node) -> None:
    one = _run(node, train_job(epochs=3))
    two_a, two_b = _run(node, train_job(devices=2, epochs=3)), _run(node, train_job(devices=2, epochs=3))
    assert sorted(two_a.devices) == [f"cpu:{i}" for i in range(2)]
    assert two_a.read_bytes() == two_b.read_bytes()
    # Same global batches, gradients summed across ranks: the same optimisation up to rounding.
    torch.testing.assert_close(two_a.metrics["epoch_loss"], one.metrics["epoch_loss"], rtol=1e-3, atol=1e-5)
    for name, tensor in load_tensors(one.read_bytes()).items():
        torch.testing.assert_close(load_tensors(two_a.read_bytes())[name], tensor, rtol=1e-3, atol=1e-4)


def test_program_with_a_code_running_pickle_is_refused_without_running(node: Node, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Touch:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    clean = zipfile.ZipFile(io.BytesIO(program_bytes()))
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        for name in clean.namelist():
            payload = pickle.dumps(Touch()) if name.endswith("sample_inputs/model.pt") else clean.read(name)
            z.writestr(name, payload)
    job = inference_job()
    with pytest.raises(UnsafeInputError, match="pickled sample inputs"):
        _run(node, SampleJob("evil", job.spec, {**job.inputs, "model": evil.getvalue()}))
    assert not marker.exists()
    _workers_alive(node)


def test_missing_and_oversize_inputs_are_refused_before_dispatch(node: Node, tmp_path: Path) -> None:
    job = train_job()
    with pytest.raises(MissingInputError, match="input 'data'"):
        _run(node, SampleJob("missing", job.spec, {}))
    with pytest.raises(MissingInputError, match="cannot read"):
        _run(node, SampleJob("gone", job.spec, {"data": tmp_path / "nope.safetensors"}))  # type: ignore[dict-item]
    small = job.spec.model_copy(update={"limits": Limits(max_input_bytes=100)})
    with pytest.raises(InputTooLargeError, match="over the limit of 100"):
        _run(node, SampleJob("big", small, job.inputs))


def test_bad_input_content_is_a_job_error_from_the_worker(node: Node) -> None:
    job = train_job()
    with pytest.raises(InvalidJobError, match=r"MalformedTensorsError at inputs\.data: header"):
        _run(node, SampleJob("junk", job.spec, {"data": b"\x00" * 64}))
    with pytest.raises(InvalidJobError, match="exactly tensors 'x' and 'y'"):
        _run(node, SampleJob("keys", job.spec, {"data": tensors_bytes(name="z")}))
    with pytest.raises(InvalidJobError, match="fewer than batch_size"):
        _run(node, SampleJob("short", job.spec, {"data": dataset_bytes(rows=8)}))
    _workers_alive(node)


def test_timeout_kills_the_job_and_the_worker_takes_the_next(node: Node) -> None:
    endless = benchmark_job(size=1024, devices=SLOTS, iterations=10000)
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match="deadline"):
        _run(node, endless, timeout=1.5)
    assert time.monotonic() - started < 30, "the job must be killed at its deadline, not run to the end"
    _workers_alive(node)
    # Every device was freed and answers at once.
    assert _run(node, benchmark_job(size=64, devices=SLOTS)).devices


def test_memory_limit_is_a_structured_error(node: Node) -> None:
    spec = JobSpec(
        workload={"kind": "benchmark", "size": 8192, "dtype": "float64"},  # type: ignore[arg-type]
        requirements=Requirements(max_runtime_s=60),
        limits=Limits(max_memory_bytes=64 * 1024 * 1024),
    )
    with pytest.raises(OutOfMemoryError):
        _run(node, SampleJob("oom", spec, {}))
    _workers_alive(node)


def test_selftest_reports_every_workload_reproducible(node: Node) -> None:
    from node.worker.selftest import run_selftest

    report = run_selftest(node.settings, devices=SLOTS)
    assert report["ok"] and sorted(report["jobs"]) == ["benchmark", "inference", "train"]
    for job in report["jobs"].values():
        assert job["reproducible"] and len(job["sha256"]) == 64
        assert job["metrics"]["hardware"]["kind"] == "cpu"
    assert len(report["jobs"]["train"]["devices"]) == SLOTS
    # bubblewrap is part of the bootstrap: every job of the selftest ran in it.
    sandbox = report["sandbox"]
    assert sandbox["active"] and sandbox["jobs_sandboxed"] and sandbox["tool"] == "bwrap"
    assert sandbox["not_enforced"], "the report must say what the sandbox cannot enforce"


def test_more_devices_than_the_node_has_and_oversize_results_are_refused(node: Node) -> None:
    job = benchmark_job(devices=SLOTS + 1)
    needs = f"needs {SLOTS + 1} devices on one host, the largest has {SLOTS}"
    with pytest.raises(DevicesUnavailableError, match=needs):
        _run(node, job)
    small = train_job().spec.model_copy(update={"limits": Limits(max_output_bytes=100)})
    with pytest.raises(OutputTooLargeError, match="over the limit of 100"):
        _run(node, SampleJob("tiny-output", small, train_job().inputs))


def test_a_redelivered_rank_past_its_deadline_is_refused(node: Node) -> None:
    # What a worker sees when a message comes back after the dispatcher gave up on the job.
    job_id = f"t-stale-{uuid.uuid4().hex[:8]}"
    reply = node.dispatcher.app.send_task(
        TASK_RUN_RANK,
        kwargs={
            "job_id": job_id,
            "rank": 0,
            "world_size": 1,
            "spec": benchmark_job().spec.canonical_json().decode(),
            "inputs": {},
            "out_dir": str(node.settings.home / "jobs" / job_id / "out"),
            "deadline": time.time() - 1,
        },
        queue=f"{node.settings.queue_prefix}.dev0",
        task_id=f"{job_id}.r0",
    ).get(timeout=60, interval=0.01)
    assert reply["ok"] is False and reply["error"] == {"code": "Timeout", "message": "deadline passed"}
    assert not (node.settings.home / "jobs" / job_id).exists()
