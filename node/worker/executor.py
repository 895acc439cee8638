"""Runs one rank through this worker's sandboxed zygote; the worker outlives whatever the job does.

Each worker owns an exchange folder `<home>/sandbox/<device>/` with `in/` (hard links to the job's
staged inputs; read-only in the sandbox) and `out/<attempt>/` (the only writable place). After the
job, the worker takes the result from the attempt folder itself (a regular file with the expected
name, re-hashed here) and never trusts a path or hash the job reported.
"""

import functools
import hashlib
import logging
import os
import re
import select
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from neurolink.config import Settings, load_settings
from neurolink.spec import JobSpec, Limits
from node.worker import sandbox
from node.worker.device import this_device
from node.worker.errors import (
    ExecutionError,
    InvalidJobError,
    JobTimeoutError,
    OutputTooLargeError,
    SandboxUnavailableError,
    WorkerCrashedError,
    failure_reply,
)
from node.worker.zygote import read_message, write_message

log = logging.getLogger(__name__)
# Time the zygote gets beyond the job's deadline to kill the job and answer.
REPLY_GRACE_S = 10.0
START_TIMEOUT_S = 300.0
_INPUT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_RESULT_NAMES = {"application/json": "result.json", "application/vnd.safetensors": "result.safetensors"}


def job_env(device: dict[str, Any], interface: str = "") -> dict[str, str]:
    """The whole environment of a job process: thread counts and its device, nothing of the node; the
    network interface of a rank whose peers are on other hosts."""
    threads = str(device["threads"])
    nic = {"GLOO_SOCKET_IFNAME": interface, "NCCL_SOCKET_IFNAME": interface} if interface else {}
    return {
        **nic,
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "USER": "job",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class Zygote:
    """This worker's job-process factory: started once, restarted after it dies or hangs."""

    def __init__(
        self,
        settings: Settings,
        device: dict[str, Any],
        net_holder: int | None = None,
        host_network: bool = False,
    ) -> None:
        self.settings = settings
        self.device = device
        # None: a private network; else the pid owning the network of one multi-rank job.
        self.net_holder = net_holder
        # A rank of a job spanning hosts: the host's network, where its peers are reachable.
        self.host_network = host_network
        self.exchange = settings.home / "sandbox" / str(device["id"]).replace(":", "")
        self.process: subprocess.Popen[bytes] | None = None
        self.sandboxed = False
        self.start_s = 0.0

    def start(self) -> None:
        """Start the zygote; one retry, since a sandbox start can fail transiently under load."""
        try:
            self._start()
        except SandboxUnavailableError as exc:
            log.warning("job sandbox did not start, retrying once: %s", exc)
            self._start()

    def _start(self) -> None:
        for sub in ("in", "out"):
            (self.exchange / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.exchange, 0o700)
        env = job_env(self.device, self.settings.rank_interface if self.host_network else "")
        mode = self.settings.sandbox
        if mode != "off" and sandbox.bwrap_path() is not None:
            command = sandbox.zygote_command(
                home=self.settings.home,
                exchange=self.exchange,
                env=env,
                gpu=self.device["kind"] == "cuda",
                net_holder=self.net_holder,
                host_network=self.host_network,
            )
            self.sandboxed, child_env = True, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        elif mode == "required":
            raise SandboxUnavailableError(
                "job processes must be sandboxed but bubblewrap is not installed (apt-get install bubblewrap)"
            )
        else:
            log.warning("job processes run WITHOUT a sandbox (sandbox=%s); only for devnets", mode)
            command = sandbox.zygote_argv()
            self.sandboxed, child_env = False, env
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env, cwd=self.exchange
        )
        ready = self._receive(START_TIMEOUT_S)
        if not ready or not ready.get("ready"):
            code = self.stop()
            raise SandboxUnavailableError(f"the job sandbox did not start (exit code {code})")
        self.start_s = time.perf_counter() - started

    def stop(self) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        return process.wait()

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, timeout))
        if not ready:
            return None
        try:
            return read_message(self.process.stdout)
        except (ValueError, OSError):
            return None

    def run(self, job: dict[str, Any], limits: Limits, timeout_s: float) -> dict[str, Any]:
        """Run `job` (already pointing at the exchange folder) and return the zygote's reply."""
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
        assert self.process is not None and self.process.stdin is not None
        # Starting a zygote takes seconds: the job keeps its absolute deadline, not its budget.
        timeout_s = min(timeout_s, float(job["deadline"]) - time.time())
        if timeout_s <= 0:
            return failure_reply(JobTimeoutError.code, "the deadline passed before the job could start")
        request = {"job": job, "timeout_s": timeout_s, "memory_limit": limits.max_memory_bytes}
        try:
            write_message(self.process.stdin, request)
        except OSError:
            self.stop()
            return failure_reply(WorkerCrashedError.code, "the job sandbox exited before the job started")
        reply = self._receive(timeout_s + REPLY_GRACE_S)
        if reply is None:
            hung = self.process.poll() is None
            self.stop()
            if hung:
                return failure_reply(JobTimeoutError.code, "the job sandbox did not answer in time; killed")
            return failure_reply(WorkerCrashedError.code, "the job sandbox died during the job")
        return reply

    # -- the exchange folder -------------------------------------------------------------------

    def inner(self, *parts: str) -> str:
        """A path under the exchange folder as the job process sees it."""
        root = sandbox.JOB_ROOT if self.sandboxed else self.exchange
        return str(root.joinpath(*parts))

    def clear(self) -> None:
        # Empty the folders, never replace them: the sandbox has them bind-mounted by inode.
        for sub in ("in", "out"):
            for entry in (self.exchange / sub).iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


@functools.cache
def zygote() -> Zygote:
    """This worker process's zygote (created, not started)."""
    return Zygote(load_settings(), this_device())


def warm_up() -> None:
    """Start the zygote now so the first job does not pay for the sandbox and importing torch."""
    z = zygote()
    if z.process is None:
        z.start()


def run_isolated(
    job: dict[str, Any],
    timeout_s: float,
    z: Zygote | None = None,
    net_holder: int | None = None,
    host_network: bool = False,
) -> dict[str, Any]:
    """Run one rank in a fresh sandboxed process; a structured reply whatever happens to it.

    A rank of a multi-rank job (`net_holder` given, or `host_network` for one spanning hosts) gets a
    zygote of its own inside that job's network, started for this rank and stopped after it.
    """
    if net_holder is not None or host_network:
        own = Zygote(zygote().settings, zygote().device, net_holder, host_network)
        try:
            return run_isolated(job, timeout_s, own)
        finally:
            own.stop()
    z = z or zygote()
    try:
        if z.process is None:
            z.start()
        attempt = uuid.uuid4().hex[:16]
        z.clear()
        inner_job = {**job, "inputs": _link_inputs(z, job["inputs"]), "out_dir": z.inner("out", attempt)}
        (z.exchange / "out" / attempt).mkdir()
        limits = JobSpec.from_json(job["spec"]).limits
        reply = z.run(inner_job, limits, timeout_s)
        if reply.get("ok") and "result" in reply:
            out_dir = Path(job["out_dir"]) / attempt
            result = _take_result(z.exchange / "out" / attempt, reply["result"], limits, out_dir)
            reply["result"] = result
    except ExecutionError as exc:
        reply = failure_reply(exc.code, str(exc))
    finally:
        z.clear()
    reply["sandboxed"] = z.sandboxed
    return reply


def _link_inputs(z: Zygote, inputs: dict[str, str]) -> dict[str, str]:
    inner: dict[str, str] = {}
    for name, source in inputs.items():
        if not _INPUT_NAME.match(name):
            raise InvalidJobError(f"input name {name!r} is not allowed")
        dest = z.exchange / "in" / name
        try:
            os.link(source, dest)
        except OSError:
            # Another file system (or no hard links): a copy costs a read, not memory.
            try:
                shutil.copyfile(source, dest)
            except OSError as exc:
                raise InvalidJobError(f"input {name!r}: cannot stage {source}: {exc.strerror}") from exc
        inner[name] = z.inner("in", name)
    return inner


def _take_result(attempt_dir: Path, reported: Any, limits: Limits, dest_dir: Path) -> dict[str, Any]:
    """Move the attempt's result out of the exchange folder, checked and hashed by the worker."""
    media_type = reported.get("media_type") if isinstance(reported, dict) else None
    name = _RESULT_NAMES.get(str(media_type))
    if name is None:
        raise WorkerCrashedError(f"job reported an unknown result type {media_type!r}")
    path = attempt_dir / name
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise WorkerCrashedError(f"job reported a result but wrote no {name}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise WorkerCrashedError(f"job's {name} is not a regular file")
    limit = limits.max_output_bytes
    if info.st_size > limit:
        raise OutputTooLargeError(f"result is {info.st_size} bytes, over the limit of {limit}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return {"path": str(dest), "sha256": digest.hexdigest(), "size": info.st_size, "media_type": media_type}
