"""A provider on three emulated hosts (node.nethosts): a 4-rank job spanning two hosts, one of them killed
under the job's next attempt, and the re-run on the one host that fits it; what
tests/integration/execution/test_multihost.py and scripts/multihost_demo.py check."""

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurolink.config import Settings, load_settings
from node.nethosts import NetHosts
from node.worker.dispatch import Dispatcher, JobResult
from node.worker.errors import WorkerCrashedError
from node.worker.pool import worker_env
from node.worker.registry import device_report
from node.worker.samples import SampleJob, train_job

# Host 0 fits the whole job; hosts 1 and 2 fit half each, so the job must span them to run there.
SLOTS = (4, 2, 2)
WORLD = 4


@dataclass
class Cluster:
    """The emulated hosts, their worker processes and the dispatcher (outside every host) driving them."""

    net: NetHosts
    dispatcher: Dispatcher
    workers: list[Any]

    def live_devices(self) -> int:
        return sum(1 for d in device_report(self.dispatcher.registry) if d["heartbeat_age_s"] is not None)


def _host_settings(base: dict[str, Any], home: Path, index: int, net: NetHosts) -> Settings:
    return load_settings(
        home=home,
        **base,
        host_label=f"h{index}",
        host_address=net.address(index),
        rank_interface="eth0",
    )


@contextmanager
def cluster(workdir: Path, redis_url: str, dead_after_s: float = 2.0) -> Iterator[Cluster]:
    """Three hosts with SLOTS workers each on `redis_url` (broker, results and device registry)."""
    base: dict[str, Any] = {
        "broker_url": redis_url,
        "result_backend": redis_url,
        "queue_prefix": f"mh-{secrets.token_hex(4)}",
        "worker_dead_after_s": dead_after_s,
        # Every job here has 4 ranks, each starting a sandbox of its own: no idle sandbox per worker.
        "warm_zygote": False,
    }
    with NetHosts(len(SLOTS)) as net:
        workers = []
        try:
            for index, slots in enumerate(SLOTS):
                settings = _host_settings(base, workdir / f"host{index}", index, net)
                env = worker_env(settings)
                if "PYTHONPATH" in os.environ:  # a checkout run in place: its workers import the same code
                    env["PYTHONPATH"] = os.environ["PYTHONPATH"]
                argv = [
                    sys.executable,
                    "-m",
                    "neurolink.cli",
                    "node",
                    "workers",
                    "--slots",
                    str(slots),
                    "--json",
                ]
                workers.append(net.popen(index, argv, env, workdir / f"host{index}.log"))
            for index, process in enumerate(workers):
                line = process.stdout.readline() if process.stdout else ""
                if not line:
                    log = (workdir / f"host{index}.log").read_text()[-2000:]
                    raise RuntimeError(f"workers of host h{index} did not start: {log}")
                json.loads(line)
            dispatcher = Dispatcher(
                load_settings(home=workdir / "dispatcher", **base, host_label="dispatcher")
            )
            found = Cluster(net, dispatcher, workers)
            deadline = time.monotonic() + 60
            while found.live_devices() < sum(SLOTS):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {found.live_devices()} of {sum(SLOTS)} devices beat")
                time.sleep(0.1)
            yield found
        finally:
            for process in workers:
                process.kill()
                process.wait()


def _job(spread: bool) -> SampleJob:
    sample = train_job(devices=WORLD, rows=512, epochs=4)
    requirements = sample.spec.requirements.model_copy(update={"spread_hosts": spread})
    return SampleJob(
        sample.name, sample.spec.model_copy(update={"requirements": requirements}), sample.inputs
    )


def run_scenario(workdir: Path, redis_url: str, dead_after_s: float = 2.0) -> dict[str, Any]:
    """The demonstration; raises on any step that goes wrong, else reports what it saw."""
    begun = time.perf_counter()
    with cluster(workdir, redis_url, dead_after_s) as c:
        startup_s = time.perf_counter() - begun
        d = c.dispatcher
        job = _job(spread=True)
        # Host 0 busy: the job fits nowhere whole and spreads over hosts 1 and 2.
        d.registry.reserve("mh-hold-h0", 4, lease_s=600)
        started = time.perf_counter()
        spanning = d.run("mh-spanning", job.spec, job.inputs)
        spanning_s = time.perf_counter() - started
        span_hosts = _job_hosts(c, spanning)
        # The same job again, spanning hosts 1 and 2 again; host 2 dies under it.
        failure: list[BaseException] = []
        attempt = threading.Thread(target=_run_into, args=(d, job, failure), daemon=True)
        attempt.start()
        _wait_reserved(c, "mh-lost")
        d.registry.release("mh-hold-h0")
        time.sleep(min(spanning_s / 2, 3.0))
        killed_at = time.perf_counter()
        c.net.kill(2)
        attempt.join(timeout=120)
        failed_at = time.perf_counter()
        if attempt.is_alive() or not failure or not isinstance(failure[0], WorkerCrashedError):
            raise RuntimeError(f"the attempt on a killed host did not fail as WorkerCrashed: {failure}")
        states = {r["queue"]: r for r in device_report(d.registry)}
        dead_hosts = sorted({r["host"] for r in states.values() if r["state"] == "dead"})
        still_held = [q for q, r in states.items() if r["job_id"] == "mh-lost"]
        # What the daemon does with a WorkerCrashed outcome: run the job again, on what is left. Host 0,
        # free again, fits the whole job: the re-run is also the one-host run the bytes are compared with.
        started = time.perf_counter()
        rerun = d.run("mh-lost", job.spec, job.inputs)
        one_host_s = time.perf_counter() - started
        rerun_hosts = _job_hosts(c, rerun)
        report = {
            "multihost": "ok",
            "hosts": len(SLOTS),
            "bytes_equal": rerun_hosts == ["h0"] and spanning.sha256 == rerun.sha256,
            "rerun_after_host_loss": not still_held and "h2" not in rerun_hosts,
            "reclaim_s": round(failed_at - killed_at, 3),
            "startup_s": round(startup_s, 3),
            "sha256": spanning.sha256,
            "sandboxed": spanning.sandboxed and rerun.sandboxed,
            "one_host": {"hosts": rerun_hosts, "seconds": round(one_host_s, 3)},
            "spanning": {"hosts": span_hosts, "seconds": round(spanning_s, 3)},
            "after_loss": {
                "dead_hosts": dead_hosts,
                "rerun_hosts": rerun_hosts,
                "error": str(failure[0]),
                "states": {q: r["state"] for q, r in sorted(states.items())},
            },
            "netns_tag": c.net.tag,
        }
        for result in (spanning, rerun):
            d.cleanup(result.job_id)
        return report


def _run_into(d: Dispatcher, job: SampleJob, failure: list[BaseException]) -> None:
    try:
        d.run("mh-lost", job.spec, job.inputs)
    except BaseException as exc:  # the attempt's failure is what the scenario waits for
        failure.append(exc)


def _wait_reserved(c: Cluster, job_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(s.job_id == job_id for s in c.dispatcher.registry.states()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} never reserved devices")
        time.sleep(0.02)


def _job_hosts(c: Cluster, result: JobResult) -> list[str]:
    """The hosts `result`'s ranks ran on, from its device queues (unique per host in a cluster)."""
    hosts = {s.device.queue: s.device.host for s in c.dispatcher.registry.states()}
    return sorted({hosts.get(q, "?") for q in result.queues})
