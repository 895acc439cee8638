"""The determinism class remembered on disk, keyed by everything that can change what the suite computes.

Running the suite means importing torch and running its kernels: seconds at every node start. The class
is a property of the machine and its software, not of a node's home, so one cache serves every node
of this user; a new torch, driver, device, CPU, thread count or emulation is a new key, so the suite
runs again exactly when the issue's "re-run after a driver or torch change" asks for it.
"""

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from neurolink.machine import cpu_model, gpu_names
from neurolink.verification.emulation import Emulation

# Entries kept; old keys (a torch upgraded long ago) fall out.
MAX_ENTRIES = 32


def default_path() -> Path:
    """`$XDG_CACHE_HOME/neurolink/device-classes.json` (default `~/.cache/...`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neurolink" / "device-classes.json"


def machine_key(emulation: Emulation, slots: int) -> str:
    """A hash of what decides the suite's outputs here, read without importing torch."""
    from neurolink.verification.suite import SUITE_VERSION

    driver = Path("/proc/driver/nvidia/version")
    facts = {
        "suite": SUITE_VERSION.decode(),
        "torch": _version("torch"),
        "torch_path": _torch_path(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_flags": _cpu_flags(),
        "cores": os.cpu_count(),
        "driver": driver.read_text() if driver.exists() else "",
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "gpus": gpu_names(),
        "emulation": emulation.value,
        "slots": slots,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def cached_host_class(
    emulation: Emulation, slots: int, *, fresh: bool = False, path: Path | None = None
) -> bytes:
    """`suite.host_class` from the cache when this machine's key is there (unless `fresh`), else run
    the suite and remember its answer. An unreadable cache is ignored, never trusted in part."""
    from neurolink.verification.suite import host_class

    path = path or default_path()
    key = machine_key(emulation, slots)
    known = _read(path)
    if not fresh and key in known:
        return bytes.fromhex(known[key])
    computed = host_class(emulation, slots)
    known.pop(key, None)
    known[key] = computed.hex()
    _write(path, dict(list(known.items())[-MAX_ENTRIES:]))
    return computed


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and _is_class(v)}


def _is_class(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def _write(path: Path, entries: dict[str, str]) -> None:
    # A temporary file and a rename: a node starting beside another reads the old or the new file whole.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(entries, indent=0))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the suite again at the next start


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def _torch_path() -> str:
    try:
        return str(metadata.distribution("torch").locate_file(""))
    except metadata.PackageNotFoundError:
        return ""


def _cpu_flags() -> str:
    # The instruction sets decide which vector kernels torch picks, so their low bits.
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    flags = next((line.split(":", 1)[1] for line in lines if line.startswith("flags")), "")
    return hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()
