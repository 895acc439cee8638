"""What this machine is: CPU model, cores, memory, GPUs, kernel and load, read without importing torch."""

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the architecture where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return next(models, platform.machine())


def gpu_names() -> list[str]:
    """GPUs visible here, by `nvidia-smi -L` (so torch need not be imported to find out)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)" -> "NVIDIA H100 80GB HBM3"
    return [
        line.split(":", 1)[1].split("(UUID")[0].strip()
        for line in out.stdout.splitlines()
        if line.startswith("GPU ")
    ]


def gpu_memory_mib(index: int) -> int:
    """Memory of GPU `index` in MiB by `nvidia-smi` (0 when it cannot tell)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    query = [smi, "-i", str(index), "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=10, check=False)
        return int(out.stdout.strip().splitlines()[0])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return 0


def worker_threads(gpus: int, slots: int) -> int:
    """CPU threads of one device worker: one beside a GPU; CPU slots share the cores in fixed shares, so
    results do not depend on load."""
    return 1 if gpus else max(1, (os.cpu_count() or 1) // max(slots, 1))


def describe() -> dict[str, Any]:
    """The machine as a benchmark report names it; `load_1m` is the load average at this moment."""
    import psutil

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpus": gpu_names(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_1m": round(os.getloadavg()[0], 2),
    }
