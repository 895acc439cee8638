"""scripts/gpu_check.py without a GPU: instant --help, exit 6 when no CUDA device, independent checks."""

import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

from node.worker.gpucheck import CHECKS, run_checks

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{str(SCRIPT)!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in ('torch', 'celery', 'node.worker.gpucheck') if m in sys.modules))\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert time.monotonic() - started < 5
    assert "--device {cuda,cpu}" in done.stdout and "--only" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_without_a_cuda_device_it_exits_6_and_says_so() -> None:
    # No CUDA device visible to torch, whatever this machine has.
    done = _script(env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 6, done.stderr
    assert "error: no CUDA device was found" in done.stderr
    assert done.stdout == ""

    as_json = _script("--json", env={"CUDA_VISIBLE_DEVICES": ""})
    assert as_json.returncode == 6
    report = json.loads(as_json.stdout)
    assert report["status"] == "unavailable"
    assert report["error"].startswith("no CUDA device was found")
    assert len(report["commit"]) == 40 and report["machine"]["cores"] and report["date"]
    assert "no CUDA device was found" in as_json.stderr


def test_an_unknown_check_or_no_runs_is_a_usage_error() -> None:
    done = _script("--only", "workers,warp_drive")
    assert done.returncode == 2
    assert "unknown check 'warp_drive'" in done.stderr
    assert _script("--device", "cpu", "--runs", "0").returncode == 2


def test_the_script_offers_exactly_the_module_checks() -> None:
    # Loaded under another __name__: defines the script's names without running it.
    assert runpy.run_path(str(SCRIPT))["CHECKS"] == CHECKS


def test_a_failing_check_is_reported_and_the_others_still_run() -> None:
    ran: list[str] = []

    def broken() -> dict[str, object]:
        ran.append("broken")
        raise RuntimeError("the device fell off the bus")

    def fine() -> dict[str, object]:
        ran.append("fine")
        return {"ok": True, "figure": 1}

    def says_no() -> dict[str, object]:
        ran.append("says_no")
        return {"detail": "no ok key: counts as failed"}

    results = run_checks({"broken": broken, "fine": fine, "says_no": says_no})
    assert ran == ["broken", "fine", "says_no"]
    assert results["broken"]["ok"] is False
    assert results["broken"]["error"] == "RuntimeError: the device fell off the bus"
    assert results["fine"]["ok"] is True and results["fine"]["figure"] == 1
    assert results["says_no"]["ok"] is False
    assert all(isinstance(r["seconds"], float) for r in results.values())


def test_the_plain_text_report_names_each_check_and_its_state() -> None:
    human = runpy.run_path(str(SCRIPT))["human"]
    report = {
        "status": "failed",
        "device": {"kind": "cuda", "count": 1, "names": ["NVIDIA H200"]},
        "checks": {
            "workers": {"ok": True, "seconds": 12.0},
            "workloads_all": {"ok": True, "skipped": "one device", "seconds": 0.0},
            "timeout": {"ok": False, "error": "JobTimeoutError: late", "seconds": 40.5},
            "gemm": {
                "ok": True,
                "seconds": 60.0,
                "results": [
                    {
                        "dtype": "bfloat16",
                        "size": 8192,
                        "worker_tflops": {"median": 610.5},
                        "plain_torch_tflops": {"median": 640.0},
                        "ratio": 0.954,
                    }
                ],
            },
        },
    }
    lines = human(report).splitlines()
    assert lines[0] == "1 cuda device(s): NVIDIA H200"
    assert lines[1].split()[:2] == ["workers", "ok"]
    assert lines[2].split()[:2] == ["workloads_all", "skipped"]
    assert lines[3].split()[:2] == ["timeout", "FAILED"] and lines[3].endswith("JobTimeoutError: late")
    assert "bfloat16" in lines[5] and "worker 610.5 TFLOP/s" in lines[5] and "ratio 0.954" in lines[5]
    assert lines[-1] == "status: failed"
