"""Celery tasks of a device worker: run one rank of a job, answer a ping."""

import time
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_ready

from neurolink.verification import emulation
from node.worker import cheats
from node.worker.app import TASK_PING, TASK_RUN_RANK
from node.worker.device import this_device, vetting_enabled
from node.worker.errors import JobTimeoutError, failure_reply


@worker_init.connect  # type: ignore[untyped-decorator]
def _heartbeat(**_: Any) -> None:
    import os

    from neurolink.config import load_settings
    from node.worker.cluster_registry import start_heartbeat
    from node.worker.device import ENV_DEVICE_QUEUE

    queue = os.environ.get(ENV_DEVICE_QUEUE)
    if queue:  # a worker started by a pool (never one a test runs in-process)
        start_heartbeat(load_settings(), queue)


@worker_ready.connect  # type: ignore[untyped-decorator]
def _warm(**_: Any) -> None:
    from node.worker.executor import warm_up, zygote

    if zygote().settings.warm_zygote:
        warm_up()


# No autoretry: a rank retried alone would wait for peers that already gave up. Redelivery after a
# lost worker keeps the task id (job id + rank) and is refused past the job's deadline.
@shared_task(name=TASK_RUN_RANK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def run_rank(
    *,
    job_id: str,
    rank: int,
    world_size: int,
    spec: str,
    inputs: dict[str, str],
    out_dir: str,
    deadline: float,
    rendezvous: str | None = None,
    net_holder: int | None = None,
    host_network: bool = False,
    sent_at: float | None = None,
) -> dict[str, Any]:
    """Run rank `rank` of job `job_id` on this worker's device until `deadline` (epoch seconds)."""
    from node.worker.executor import run_isolated

    started = time.time()
    device = this_device()
    base = {"job_id": job_id, "rank": rank, "device": device["id"]}
    left = deadline - started
    if left <= 0:
        return {**base, **failure_reply(JobTimeoutError.code, "deadline passed")}
    job = {
        "job_id": job_id,
        "rank": rank,
        "world_size": world_size,
        "spec": spec,
        "inputs": inputs,
        "out_dir": out_dir,
        "deadline": deadline,
        "rendezvous": rendezvous,
        "device": device,
        "vet_programs": vetting_enabled(),
        # Set only by a devnet node (refused elsewhere): the device this worker acts as, its cheat.
        "emulation": emulation.from_env().value,
        "cheat": cheats.from_env().value,
    }
    reply = run_isolated(job, left, net_holder=net_holder, host_network=host_network)
    timings = reply.setdefault("timings", {})
    if sent_at is not None:
        timings["queue_s"] = max(0.0, started - sent_at)
    timings["task_s"] = time.time() - started
    return {**reply, **base}


@shared_task(name=TASK_PING)  # type: ignore[untyped-decorator]
def ping(payload: str = "") -> dict[str, Any]:
    """Echo `payload` with this worker's device: readiness checks and dispatch-overhead benchmarks."""
    return {"payload": payload, "device": this_device()["id"]}
