"""Fetches a job's spec and inputs from the content store, runs it on the Celery workers, stores the result.

Each job runs in a thread of its own around the execution side's blocking `Dispatcher.run`; the daemon
polls for the outcome. Only the spec and input bytes cross to the workers, never a key.
"""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.errors import NeuroLinkError
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
        self._max_jobs = max_jobs
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future[Outcome]] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> "ContentStore":
        if self._store is None:
            from neurolink.content import open_store

            self._store = open_store(self.settings)
        return self._store

    def start(self) -> None:
        from node.worker.dispatch import Dispatcher

        self._runner = Dispatcher(self.settings)
        self._pool = ThreadPoolExecutor(self._max_jobs, thread_name_prefix="job")

    def stop(self) -> None:
        if self._pool is not None:
            # Running jobs finish in their workers; a restarted daemon runs them again if it must.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

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
            return f"spec unusable: {type(exc).__name__}: {exc}"
        if spec.replicas != job.replicas:
            return f"spec asks for {spec.replicas} replicas, the job for {job.replicas}"
        if spec.requirements.gpu_count != job.gpu_count:
            return f"spec needs {spec.requirements.gpu_count} devices, the job declares {job.gpu_count}"
        return ""

    # -- after a claim ---------------------------------------------------------------------------

    def submit(self, job: ChainJob) -> None:
        """Start computing `job` in the background (replacing a finished or lost earlier run)."""
        if self._pool is None:
            raise RuntimeError("dispatcher not started")
        with self._lock:
            self._futures[job.job_id] = self._pool.submit(self._compute, job)

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

    def _compute(self, job: ChainJob) -> Outcome:
        from neurolink.content import cid_to_digest

        assert self._runner is not None
        started = time.monotonic()
        key = f"{self._key_prefix}-{job.job_id}"
        try:
            spec = self.load_spec(job)
            inputs = {name: self.store.get_bytes(cid) for name, cid in spec.inputs.items()}
            runtime = float(spec.requirements.max_runtime_s)
            # Devices may still be held by a run a crashed daemon left behind: wait for them a while.
            result = self._runner.run(key, spec, inputs, timeout=runtime, wait_for_devices=min(runtime, 60.0))
            cid = self.store.put_file(result.result_path)
            self._runner.cleanup(key)
        except Exception as exc:
            # The thread's edge: a lost broker or store surfaces as an outcome the daemon can retry.
            from node.worker.errors import ExecutionError

            error = f"{type(exc).__name__}: {exc}"
            code = exc.code if isinstance(exc, ExecutionError) else ""
            log.warning("job computation failed", extra={"job_id": job.job_id, "error": error, "code": code})
            return Outcome(error=error, error_code=code, seconds=time.monotonic() - started)
        return Outcome(cid=cid, digest="0x" + cid_to_digest(cid).hex(), seconds=time.monotonic() - started)

    def store_error_result(self, record: "ErrorResult") -> Outcome:
        """Store a canonical error record: the result of a job that fails the same way everywhere."""
        from neurolink.content import cid_to_digest

        cid = self.store.put_bytes(record.to_bytes())
        return Outcome(cid=cid, digest="0x" + cid_to_digest(cid).hex())
