"""Fetches a job's spec and inputs from the content store, runs it on the Celery workers, stores the result.

Each job runs in a daemon thread of its own around the execution side's blocking `Dispatcher.run`; the
daemon polls for the outcome. The threads are never joined, so stopping the node takes no longer than its
loop's tick whatever runs (a restarted node runs or resumes the job again). Only the spec and input bytes
cross to the workers, never a key.
"""

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.errors import NeuroLinkError
from node.daemon.errors import is_transient
from node.daemon.market import ChainJob

if TYPE_CHECKING:
    from neurolink.config import Settings
    from neurolink.content.store import ContentStore
    from neurolink.protocol.error_result import ErrorResult
    from neurolink.spec import JobSpec
    from node.worker.dispatch import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A finished computation: the stored result's CID and its on-chain digest, or an error (with the
    worker's error code when execution itself failed, see node.worker.errors)."""

    cid: str = ""
    digest: str = ""
    # Tolerant jobs: the result's fingerprint under the job's seed (0x-hex), else "".
    fingerprint: str = ""
    seconds: float = 0.0
    error: str = ""
    error_code: str = ""


class JobDispatcher:
    """Spec checks before a claim, and computations after it, one thread per running job."""

    def __init__(
        self, settings: "Settings", provider: str, *, store: "ContentStore | None" = None, max_jobs: int = 16
    ) -> None:
        self.settings = settings
        # Job ids on the workers carry the provider, so nodes sharing a host never share a reservation.
        self._key_prefix = f"job-{provider[2:10].lower()}"
        self._store = store
        self._runner: Dispatcher | None = None
        self._slots = threading.BoundedSemaphore(max_jobs)
        self._started = False
        self._on_done: Callable[[], None] | None = None
        self._futures: dict[int, Future[Outcome]] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> "ContentStore":
        if self._store is None:
            from neurolink.content import open_store

            self._store = open_store(self.settings)
        return self._store

    def start(self, on_done: Callable[[], None] | None = None) -> None:
        """Accept work; `on_done` is called (from the job's thread) as each computation ends."""
        from node.worker.dispatch import Dispatcher

        self._runner = Dispatcher(self.settings)
        self._on_done = on_done
        self._started = True

    def device_report(self) -> list[dict[str, Any]]:
        """The provider's devices on every host with their state (empty before start)."""
        from node.worker.registry import device_report

        return device_report(self._runner.registry) if self._runner is not None else []

    def stop(self) -> None:
        """Stop handing out work; running threads are abandoned (daemon threads die with the process)."""
        self._started = False

    # -- before a claim -------------------------------------------------------------------------

    def load_spec(self, job: ChainJob) -> "JobSpec":
        """The job's spec from the content store, validated; raises a NeuroLinkError naming the problem."""
        from neurolink.spec import MAX_SPEC_BYTES, JobSpec

        cid = self.store.resolve_digest(job.spec_digest)
        return JobSpec.from_json(self.store.get_bytes(cid, max_size=MAX_SPEC_BYTES))

    def check_spec(self, job: ChainJob) -> str:
        """Empty if this node can run the job's spec; else why not (for the log and the ledger)."""
        try:
            spec = self.load_spec(job)
        except NeuroLinkError as exc:
            if is_transient(exc):
                raise  # the store is down for a moment: the daemon asks again later
            return f"spec unusable: {type(exc).__name__}: {exc}"
        if spec.replicas != job.replicas:
            return f"spec asks for {spec.replicas} replicas, the job for {job.replicas}"
        if spec.requirements.gpu_count != job.gpu_count:
            return f"spec needs {spec.requirements.gpu_count} devices, the job declares {job.gpu_count}"
        host = host_memory_bytes()
        if spec.limits.max_memory_bytes > host:
            return f"spec may use {spec.limits.max_memory_bytes} bytes of memory, this host has {host}"
        return self._check_inputs(job, spec)

    def _check_inputs(self, job: ChainJob, spec: "JobSpec") -> str:
        """Fetch every input before claiming: one nobody serves (withheld) is never claimed.

        An input over the spec's limit is no reason to stay away: it fails the same way for every
        provider, so it settles as an error result and pays.
        """
        from neurolink.content.errors import ContentNotFoundError
        from node.worker.errors import InputTooLargeError

        folder = self.settings.home / "jobs" / f"{self._key_prefix}-{job.job_id}-preclaim"
        try:
            stage_inputs(self.store, spec, folder)
        except ContentNotFoundError as exc:
            return f"input not available, not claiming: {exc}"
        except InputTooLargeError:
            pass
        except NeuroLinkError as exc:
            if is_transient(exc):
                raise
            return f"input unusable: {type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return ""

    # -- after a claim ---------------------------------------------------------------------------

    def submit(self, job: ChainJob, fingerprint_seed: bytes | None = None) -> None:
        """Start computing `job` in the background (replacing a finished or lost earlier run); with a
        seed, the outcome carries the result's fingerprint (tolerant jobs)."""
        if not self._started:
            raise RuntimeError("dispatcher not started")
        future: Future[Outcome] = Future()
        with self._lock:
            self._futures[job.job_id] = future
        thread = threading.Thread(
            target=self._run, args=(job, future, fingerprint_seed), name=f"job-{job.job_id}", daemon=True
        )
        thread.start()

    def knows(self, job_id: int) -> bool:
        with self._lock:
            return job_id in self._futures

    def poll(self, job_id: int) -> Outcome | None:
        """The outcome once the computation ended, else None."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is None or not future.done():
            return None
        with self._lock:
            self._futures.pop(job_id, None)
        return future.result()

    def _run(self, job: ChainJob, future: Future[Outcome], fingerprint_seed: bytes | None) -> None:
        with self._slots:
            future.set_result(self._compute(job, fingerprint_seed))
        if self._on_done is not None:
            self._on_done()

    def _compute(self, job: ChainJob, fingerprint_seed: bytes | None) -> Outcome:
        from neurolink.content import cid_to_digest
        from neurolink.verification.fingerprint import fingerprint_file
        from node.worker.dispatch import REPORT_GRACE_S

        assert self._runner is not None
        started = time.monotonic()
        key = f"{self._key_prefix}-{job.job_id}"
        try:
            spec = self.load_spec(job)
            inputs = stage_inputs(self.store, spec, self._runner.jobs_dir / key / "inputs")
            runtime = float(spec.requirements.max_runtime_s)
            # A run a stopped daemon left behind holds its devices until its lease ends (its ranks are
            # killed at their deadline by then): wait out that lease.
            wait = runtime + REPORT_GRACE_S
            result = self._runner.run(key, spec, inputs, timeout=runtime, wait_for_devices=wait)
            cid = self.store.put_file(result.result_path)
            fingerprint = (
                "0x" + fingerprint_file(result.result_path, fingerprint_seed).hex()
                if fingerprint_seed is not None
                else ""
            )
            self._runner.cleanup(key)
        except Exception as exc:
            # The thread's edge: a lost broker or store surfaces as an outcome the daemon can retry.
            from node.worker.errors import ExecutionError

            error = f"{type(exc).__name__}: {exc}"
            code = exc.code if isinstance(exc, ExecutionError) else ""
            log.warning("job computation failed", extra={"job_id": job.job_id, "error": error, "code": code})
            return Outcome(error=error, error_code=code, seconds=time.monotonic() - started)
        return Outcome(
            cid=cid,
            digest="0x" + cid_to_digest(cid).hex(),
            fingerprint=fingerprint,
            seconds=time.monotonic() - started,
        )

    def store_error_result(self, record: "ErrorResult", tolerant: bool = False) -> Outcome:
        """Store a canonical error record: the result of a job that fails the same way everywhere. Its
        fingerprint (tolerant jobs) is the record's hash: equal records match, anything else is ~128
        bits away, as no error record is a noisy copy of another."""
        import hashlib

        from neurolink.content import cid_to_digest

        raw = record.to_bytes()
        cid = self.store.put_bytes(raw)
        fingerprint = "0x" + hashlib.sha256(raw).hexdigest() if tolerant else ""
        return Outcome(cid=cid, digest="0x" + cid_to_digest(cid).hex(), fingerprint=fingerprint)


def host_memory_bytes() -> int:
    """Physical memory of this host: no job may declare more than this."""
    import psutil

    return int(psutil.virtual_memory().total)


def stage_inputs(store: "ContentStore", spec: "JobSpec", folder: Path) -> dict[str, Path]:
    """Stream every input of `spec` into `folder`; one over the spec's limit is refused unread."""
    from neurolink.content.errors import ContentTooLargeError
    from node.worker.errors import InputTooLargeError

    folder.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    for name, cid in sorted(spec.inputs.items()):
        path = folder / name
        try:
            store.get_file(cid, path, max_size=spec.limits.max_input_bytes)
        except ContentTooLargeError as exc:
            raise InputTooLargeError(f"input {name!r}: {exc}") from exc
        staged[name] = path
    return staged
