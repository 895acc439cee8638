"""scripts/gpu_check.py's checks for real on CPU device slots (`--device cpu`): all but the CUDA specifics."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.worker.gpucheck import MemoryCase, MiB, Plan, run

ROOT = Path(__file__).resolve().parents[3]


# Every check but the 2-rank workloads (their sandbox starts take most of the time, and multi-rank jobs
# run in tests/integration/execution/test_execution.py): the suite's time budget is tight.
CHECKS = ["workers", "workloads_1", "determinism", "memory_limit", "timeout", "gemm"]


@pytest.mark.timeout(900)
def test_cpu_dry_run_passes_every_check() -> None:
    script = [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--device", "cpu", "--json"]
    done = subprocess.run(
        [*script, "--runs", "1", "--only", ",".join(CHECKS)],
        capture_output=True,
        text=True,
        timeout=840,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report["status"] == "ok" and report["failed"] == []
    assert len(report["commit"]) == 40 and report["bench"] == "gpu_check-cpu"
    checks = report["checks"]
    assert list(checks) == CHECKS
    assert all(check["ok"] for check in checks.values())
    assert checks["workers"]["kind"] == "cpu" and len(checks["workers"]["devices"]) == 2
    one = checks["workloads_1"]
    assert one["ranks"] == 1
    for job in ("benchmark", "inference", "train"):
        assert one[job]["same_bytes_twice"] and len(one[job]["devices"]) == 1
    determinism = checks["determinism"]
    assert determinism["same_class_twice"] and determinism["class_ids"][0]["cpu"].startswith("0x")
    assert checks["memory_limit"]["host"]["code"] == "OutOfMemory"
    assert checks["memory_limit"]["next_job"] == "ran on every device"
    timeout = checks["timeout"]
    assert timeout["code"] == "Timeout" and timeout["killed_in_time"]
    assert timeout["next_job"] == "ran on every device"
    gemm = checks["gemm"]["results"]
    assert [(r["dtype"], r["size"]) for r in gemm] == [
        (dtype, size) for dtype in ("float32", "bfloat16", "float16") for size in (64, 128)
    ]
    assert all(r["same_product_as_plain_torch"] and r["worker_tflops"]["n"] == 1 for r in gemm)


def test_a_job_within_its_memory_fails_the_memory_check_and_only_it(tmp_path: Path) -> None:
    fits = MemoryCase("fits", 64, "float32", 1024 * MiB)
    plan = dataclasses.replace(Plan.cpu(2), memory_cases=(fits,))
    report = run(plan, only=("memory_limit",), home=tmp_path)
    assert report["status"] == "failed" and report["failed"] == ["memory_limit"]
    assert report["checks"]["workers"]["ok"]
    assert report["checks"]["memory_limit"]["fits"]["message"] == "the job ran to completion"
