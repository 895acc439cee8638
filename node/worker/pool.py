"""Starts one Celery worker per GPU (or per CPU device slot), registers them, stops them."""

import os
import subprocess
import sys
import time
import uuid
from types import TracebackType

from neurolink.config import Settings
from neurolink.machine import gpu_memory_mib, gpu_names, worker_threads
from neurolink.processes import stop_processes
from node.worker.app import TASK_PING, make_app
from node.worker.cluster_registry import open_registry
from node.worker.device import ENV_DEVICE_INDEX, ENV_DEVICE_KIND, ENV_DEVICE_QUEUE, ENV_DEVICE_THREADS
from node.worker.errors import DevicesUnavailableError
from node.worker.registry import Device

# What a worker inherits from the node's environment: never NEUROLINK_PASSWORD or other secrets.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "VIRTUAL_ENV")


def worker_env(settings: Settings) -> dict[str, str]:
    """A worker's whole environment: the settings as NEUROLINK_* and a few harmless variables."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    return {**env, **settings_env(settings)}


def settings_env(settings: Settings) -> dict[str, str]:
    """NEUROLINK_* variables that make a child process load exactly these settings."""
    env = {"NEUROLINK_HOME": str(settings.home)}
    for name, value in settings.model_dump(mode="json").items():
        if name != "home":
            env[f"NEUROLINK_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class WorkerPool:
    """One `celery worker -P solo` per device, each on its own queue `<prefix>.dev<i>`."""

    def __init__(
        self,
        settings: Settings,
        slots: int | None = None,
        gpus: int | None = None,
        extra_env: dict[str, str] | None = None,
        device_class: str = "",
    ) -> None:
        self.settings = settings
        self.extra_env = dict(extra_env or {})
        self.gpus = len(gpu_names()) if gpus is None else gpus
        self.slots = self.gpus or slots or settings.cpu_slots
        self.kind = "cuda" if self.gpus else "cpu"
        self.threads = worker_threads(self.gpus, self.slots)
        self.registry = open_registry(settings)
        # What `node register` measured for these devices, where the caller knows it.
        self.device_class = device_class
        self.log_dir = settings.home / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def queue(self, index: int) -> str:
        """`<prefix>.dev<i>`; with a host label, `<prefix>.<label>.dev<i>`, unique across the cluster."""
        label = self.settings.host_label
        return (
            f"{self.settings.queue_prefix}.{label}.dev{index}"
            if label
            else f"{self.settings.queue_prefix}.dev{index}"
        )

    def start(self, loglevel: str = "WARNING") -> list[Device]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        base_env = {**worker_env(self.settings), **self.extra_env}
        devices = []
        for index in range(self.slots):
            queue = self.queue(index)
            env = {
                **base_env,
                ENV_DEVICE_KIND: self.kind,
                ENV_DEVICE_INDEX: str(index),
                ENV_DEVICE_THREADS: str(self.threads),
                ENV_DEVICE_QUEUE: queue,
                "OMP_NUM_THREADS": str(self.threads),
            }
            if self.gpus:
                env["CUDA_VISIBLE_DEVICES"] = str(index)
            else:
                env["CUDA_VISIBLE_DEVICES"] = ""
            command = [
                sys.executable, "-m", "celery", "-A", "node.worker.app", "worker",
                "-Q", queue, "-P", "solo", "-c", "1", "-n", f"{queue}@%h", "-l", loglevel,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]  # fmt: skip
            log = (self.log_dir / f"{queue}.log").open("ab")
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            self.processes[queue] = process
            devices.append(
                Device(
                    queue,
                    f"{self.kind}:{index}",
                    self.kind,
                    process.pid,
                    host=self.settings.host,
                    address=self.settings.host_address,
                    memory_mib=self._memory_mib(index),
                    device_class=self.device_class,
                )
            )
        self.registry.register(devices)
        return devices

    def _memory_mib(self, index: int) -> int:
        """A GPU's memory (nvidia-smi), else the host's memory shared by the CPU slots."""
        if self.gpus:
            return gpu_memory_mib(index)
        import psutil

        return int(psutil.virtual_memory().total) // (1024 * 1024) // self.slots

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until every worker answers a ping (so its queue is consumed)."""
        app = make_app(self.settings)
        deadline = time.monotonic() + timeout
        pending = {
            q: app.send_task(TASK_PING, args=[q], queue=q, task_id=f"ping-{uuid.uuid4()}")
            for q in self.processes
        }
        for queue, result in pending.items():
            while not result.ready():
                process = self.processes[queue]
                if process.poll() is not None:
                    raise DevicesUnavailableError(
                        f"worker {queue} exited with {process.returncode}; see {self.log_dir / queue}.log"
                    )
                if time.monotonic() > deadline:
                    raise DevicesUnavailableError(f"worker {queue} did not answer within {timeout:.0f} s")
                time.sleep(0.02)
            result.forget()

    def stop(self, timeout: float = 10.0) -> None:
        self.registry.deregister(list(self.processes))
        stop_processes(self.processes.values(), timeout)
        self.processes.clear()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
