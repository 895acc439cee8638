"""The dispatch API the node daemon calls: stage inputs, reserve devices, run every rank, collect."""

import random
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
from node.worker.cluster_registry import open_registry
from node.worker.errors import (
    ERRORS_BY_CODE,
    ExecutionError,
    InputTooLargeError,
    InvalidJobError,
    MissingInputError,
    NoReplyError,
    WorkerCrashedError,
)
from node.worker.registry import Device
from node.worker.sandbox import bwrap_path, start_net_holder

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Time allowed beyond the job's own deadline for the worker to report back.
REPORT_GRACE_S = 10.0
# How often a dispatcher waiting on ranks checks that their workers still beat.
LIVENESS_CHECK_S = 0.25
# Rendezvous ports on another host are picked blind (the dispatcher cannot probe them): a clash fails
# the attempt, which is run again.
_REMOTE_PORTS = (20000, 60000)
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
    # The device queues the ranks ran on, rank by rank (unique per host in a cluster registry).
    queues: tuple[str, ...] = ()

    def read_bytes(self) -> bytes:
        return self.result_path.read_bytes()


class Dispatcher:
    """Runs jobs on the provider's device workers (this host's, or every host's with a cluster registry):
    all ranks of a job start together or not at all; a job spans hosts only when its spec allows it.

    `run(job_id, spec, inputs, timeout)`: `inputs` maps each name in `spec.inputs` to its bytes or
    to a local file; bytes are written to `<home>/jobs/<job_id>/inputs/`, paths are passed as is.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = make_app(settings)
        self.registry = open_registry(settings)
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
            job_id,
            count,
            lease_s=budget + REPORT_GRACE_S,
            wait_s=wait_for_devices,
            spread=spec.requirements.spread_hosts,
        )
        try:
            # A job network of its own only works where the dispatcher runs: ranks elsewhere keep
            # their host's network (docs/OPERATIONS.md, "Workers on many hosts").
            here = {d.host for d in devices} == {self.settings.host}
            with self._job_network(len(devices), here) as net_holder:
                return self._run_ranks(
                    job_id=job_id,
                    spec=spec,
                    staged=staged,
                    job_dir=job_dir,
                    devices=devices,
                    budget=budget,
                    net_holder=net_holder,
                    host_network=not here and len(devices) > 1,
                )
        finally:
            self.registry.release(job_id)

    @contextmanager
    def _job_network(self, world: int, here: bool) -> Iterator[int | None]:
        """The pid owning a loopback-only network for this job's ranks alone (None: one rank)."""
        if world == 1 or not here or self.settings.sandbox == "off" or bwrap_path() is None:
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
        devices: list[Device],
        budget: float,
        net_holder: int | None,
        host_network: bool,
    ) -> JobResult:
        world = len(devices)
        queues = [d.queue for d in devices]
        deadline = time.time() + budget
        rendezvous = _rendezvous(devices, host_network) if world > 1 else None
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
                    "host_network": host_network,
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
                while True:
                    left = deadline + REPORT_GRACE_S - time.time()
                    try:
                        reply = result.get(
                            timeout=max(0.1, min(left, LIVENESS_CHECK_S)), interval=0.005, propagate=False
                        )
                        break
                    except Exception as exc:  # celery.exceptions.TimeoutError and broker errors alike
                        if type(exc).__name__ != "TimeoutError":
                            raise ExecutionError(f"job {job_id}: rank {len(replies)} failed: {exc}") from exc
                        if left <= LIVENESS_CHECK_S:
                            # A lost reply (broker restarted, worker gone) says nothing about the job.
                            raise NoReplyError(
                                f"job {job_id}: no reply from rank {len(replies)} in time"
                            ) from exc
                        self._check_alive(job_id, devices)
                replies.append(reply)
        finally:
            for result in pending:
                result.forget()
        wall = time.perf_counter() - sent
        return self._collect(job_id, replies, wall, tuple(queues))

    def _check_alive(self, job_id: str, devices: list[Device]) -> None:
        """Fail the attempt as soon as a worker of the job stops beating: its rank will never answer,
        and the daemon runs the job again on the devices that are left."""
        dead = self.registry.dead(d.queue for d in devices)
        if dead:
            where = ", ".join(f"{d.queue} on {d.host or '?'}" for d in dead)
            raise WorkerCrashedError(f"job {job_id}: worker lost mid-job ({where}: no heartbeat)")

    @staticmethod
    def _collect(
        job_id: str, replies: list[dict[str, Any]], wall: float, queues: tuple[str, ...]
    ) -> JobResult:
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
            queues=queues,
        )


def _file_size(name: str, path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise MissingInputError(f"input {name!r}: cannot read {path}: {exc}") from exc


def _rendezvous(devices: list[Device], host_network: bool) -> str:
    """Where the ranks meet: rank 0's host address when the job spans hosts, else loopback."""
    if not host_network:
        return f"tcp://127.0.0.1:{_free_port()}"
    hosts = {d.host for d in devices}
    address = devices[0].address if len(hosts) > 1 else "127.0.0.1"
    return f"tcp://{address}:{random.randint(*_REMOTE_PORTS)}"


def _free_port() -> int:
    # Bound then released: the rank-0 process binds it moments later (a race only with other binders).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
