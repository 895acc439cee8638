"""The dispatch API the node daemon calls: stage inputs, reserve devices, run every rank, collect."""

import re
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurolink.config import Settings
from neurolink.spec import JobSpec
from node.worker.app import TASK_RUN_RANK, make_app
from node.worker.errors import (
    ERRORS_BY_CODE,
    ExecutionError,
    InputTooLargeError,
    InvalidJobError,
    MissingInputError,
    NoReplyError,
)
from node.worker.registry import DeviceRegistry
from node.worker.sandbox import bwrap_path, start_net_holder

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Time allowed beyond the job's own deadline for the worker to report back.
REPORT_GRACE_S = 10.0
# Errors a rank reports because a peer failed; the peer's own error is the one worth raising.
_CONSEQUENTIAL = {"WorkloadFailed", "Timeout", "WorkerCrashed"}


@dataclass(frozen=True)
class JobResult:
    """A finished job: its canonical result file, its sha256, metrics, devices and timings."""

    job_id: str
    result_path: Path
    media_type: str
    sha256: str
    size: int
    metrics: Mapping[str, Any]
    devices: tuple[str, ...]
    timings: Mapping[str, float]
    # Every rank ran in the OS sandbox (False only where the node allows running without one).
    sandboxed: bool = False
    peak_rss_bytes: int = 0

    def read_bytes(self) -> bytes:
        return self.result_path.read_bytes()


class Dispatcher:
    """Runs jobs on this host's device workers: all ranks of a job start together or not at all.

    `run(job_id, spec, inputs, timeout)`: `inputs` maps each name in `spec.inputs` to its bytes or
    to a local file; bytes are written to `<home>/jobs/<job_id>/inputs/`, paths are passed as is.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = make_app(settings)
        self.registry = DeviceRegistry(settings.home / "devices.sqlite")
        self.jobs_dir = settings.home / "jobs"

    def run(
        self,
        job_id: str,
        spec: JobSpec,
        inputs: Mapping[str, bytes | Path],
        timeout: float | None = None,
        wait_for_devices: float = 0.0,
    ) -> JobResult:
        """Run `spec` as job `job_id` within `timeout` seconds (at most the spec's max runtime)."""
        if not JOB_ID.match(job_id):
            raise InvalidJobError(f"job id {job_id!r} must match {JOB_ID.pattern}")
        budget = float(spec.requirements.max_runtime_s)
        if timeout is not None:
            budget = min(budget, timeout)
        job_dir = self.jobs_dir / job_id
        staged = self._stage(spec, inputs, job_dir / "inputs")
        count = spec.requirements.gpu_count
        devices = self.registry.reserve(
            job_id, count, lease_s=budget + REPORT_GRACE_S, wait_s=wait_for_devices
        )
        try:
            queues = [d.queue for d in devices]
            with self._job_network(len(queues)) as net_holder:
                return self._run_ranks(
                    job_id=job_id,
                    spec=spec,
                    staged=staged,
                    job_dir=job_dir,
                    queues=queues,
                    budget=budget,
                    net_holder=net_holder,
                )
        finally:
            self.registry.release(job_id)

    @contextmanager
    def _job_network(self, world: int) -> Iterator[int | None]:
        """The pid owning a loopback-only network for this job's ranks alone (None: one rank)."""
        if world == 1 or self.settings.sandbox == "off" or bwrap_path() is None:
            yield None
            return
        holder = start_net_holder()
        try:
            yield holder.pid
        finally:
            holder.stop()

    def cleanup(self, job_id: str) -> None:
        """Remove the job's staged inputs and result once the daemon has stored the result."""
        if JOB_ID.match(job_id):
            shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)

    def _stage(self, spec: JobSpec, inputs: Mapping[str, bytes | Path], staging: Path) -> dict[str, str]:
        unknown = sorted(set(inputs) - set(spec.inputs))
        if unknown:
            raise InvalidJobError(f"input {unknown[0]!r} is not in the spec's inputs")
        limit = spec.limits.max_input_bytes
        staged: dict[str, str] = {}
        for name in sorted(spec.inputs):
            if name not in inputs:
                raise MissingInputError(f"input {name!r} ({spec.inputs[name]}) was not supplied")
            value = inputs[name]
            size = len(value) if isinstance(value, bytes) else _file_size(name, Path(value))
            if size > limit:
                raise InputTooLargeError(f"input {name!r} is {size} bytes, over the limit of {limit}")
            if isinstance(value, bytes):
                staging.mkdir(parents=True, exist_ok=True)
                path = staging / name
                path.write_bytes(value)
                staged[name] = str(path)
            else:
                staged[name] = str(Path(value).resolve())
        return staged

    def _run_ranks(
        self,
        *,
        job_id: str,
        spec: JobSpec,
        staged: dict[str, str],
        job_dir: Path,
        queues: list[str],
        budget: float,
        net_holder: int | None,
    ) -> JobResult:
        world = len(queues)
        deadline = time.time() + budget
        rendezvous = f"tcp://127.0.0.1:{_free_port()}" if world > 1 else None
        spec_json = spec.canonical_json().decode()
        sent = time.perf_counter()
        pending = [
            self.app.send_task(
                TASK_RUN_RANK,
                kwargs={
                    "job_id": job_id,
                    "rank": rank,
                    "world_size": world,
                    "spec": spec_json,
                    "inputs": staged,
                    "out_dir": str(job_dir / "out"),
                    "deadline": deadline,
                    "rendezvous": rendezvous,
                    "net_holder": net_holder,
                    "sent_at": time.time(),
                },
                queue=queue,
                # The same job and rank is the same task: a redelivered message is not a new job.
                task_id=f"{job_id}.r{rank}",
            )
            for rank, queue in enumerate(queues)
        ]
        replies: list[dict[str, Any]] = []
        try:
            for result in pending:
                left = deadline + REPORT_GRACE_S - time.time()
                try:
                    replies.append(result.get(timeout=max(0.1, left), interval=0.005, propagate=False))
                except Exception as exc:  # celery.exceptions.TimeoutError and broker errors alike
                    if type(exc).__name__ == "TimeoutError":
                        # A lost reply (broker restarted, worker gone) says nothing about the job.
                        raise NoReplyError(
                            f"job {job_id}: no reply from rank {len(replies)} in time"
                        ) from exc
                    raise ExecutionError(f"job {job_id}: rank {len(replies)} failed: {exc}") from exc
        finally:
            for result in pending:
                result.forget()
        wall = time.perf_counter() - sent
        return self._collect(job_id, replies, wall)

    @staticmethod
    def _collect(job_id: str, replies: list[dict[str, Any]], wall: float) -> JobResult:
        failures = [r for r in replies if not (isinstance(r, dict) and r.get("ok"))]
        if failures:
            errors = [r.get("error", {}) if isinstance(r, dict) else {"message": str(r)} for r in failures]
            root = next((e for e in errors if e.get("code") not in _CONSEQUENTIAL), errors[0])
            cls = ERRORS_BY_CODE.get(str(root.get("code")), ExecutionError)
            raise cls(f"job {job_id}: {root.get('message', 'failed')}")
        head = replies[0]
        result = head["result"]
        timings = {f"rank{r['rank']}.{k}": float(v) for r in replies for k, v in r.get("timings", {}).items()}
        timings["dispatch_wall_s"] = wall
        return JobResult(
            job_id=job_id,
            result_path=Path(result["path"]),
            media_type=result["media_type"],
            sha256=result["sha256"],
            size=int(result["size"]),
            metrics=head.get("metrics", {}),
            devices=tuple(r["device"] for r in replies),
            timings=timings,
            sandboxed=all(bool(r.get("sandboxed")) for r in replies),
            peak_rss_bytes=max(int(r.get("peak_rss_bytes", 0)) for r in replies),
        )


def _file_size(name: str, path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise MissingInputError(f"input {name!r}: cannot read {path}: {exc}") from exc


def _free_port() -> int:
    # Bound then released: the rank-0 process binds it moments later (a race only with other binders).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
