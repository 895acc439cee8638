"""Runs one rank in a fresh job process with a hard deadline; the worker outlives whatever happens."""

import functools
import json
import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any

from node.worker.errors import JobTimeoutError, OutOfMemoryError, WorkerCrashedError


@functools.cache
def context() -> ForkServerContext:
    """A forkserver that has imported torch once; each job process forks from it in milliseconds."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["node.worker.runner"])
    return ctx


def _job_main(conn: Connection, job_json: str) -> None:
    # Job processes import the runner (preloaded in the forkserver); the worker never imports torch.
    from node.worker.runner import child_main

    child_main(conn, job_json)


def _nothing() -> None:
    """Starting it makes the forkserver import torch before the first job."""


def warm_up() -> None:
    """Start the forkserver now so the first job does not pay for importing torch."""
    process = context().Process(target=_nothing, daemon=True)
    process.start()
    process.join()


def run_isolated(job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run `job` in a child; a structured reply even if it times out, crashes or is OOM-killed."""
    _reap()
    ctx = context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_job_main, args=(sender, json.dumps(job)), daemon=True)
    started = time.perf_counter()
    process.start()
    sender.close()
    try:
        if not receiver.poll(max(0.0, timeout_s)):
            process.kill()
            process.join()
            return _failure(
                JobTimeoutError.code, f"job ran past its deadline ({timeout_s:.1f} s left); killed"
            )
        try:
            reply: dict[str, Any] = json.loads(receiver.recv_bytes())
        except EOFError:
            process.join()
            code = process.exitcode
            # SIGKILL without a reply is what the kernel's OOM killer does.
            if code == -9:
                return _failure(
                    OutOfMemoryError.code, "job process was killed (SIGKILL), likely out of memory"
                )
            return _failure(WorkerCrashedError.code, f"job process died with exit code {code}")
    finally:
        receiver.close()
    # The reply is in; the process tears itself down while the worker reports (reaped next job).
    reply.setdefault("timings", {})["spawn_and_run_s"] = time.perf_counter() - started
    return reply


def _reap() -> None:
    # A previous job process that replied but has not exited yet gets no more time: kill it, so
    # it cannot hold memory or a device while this job runs.
    for child in multiprocessing.active_children():
        child.kill()
        child.join()


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}
