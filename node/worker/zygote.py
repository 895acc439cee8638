"""The job-process factory: imports torch once, forks one process per rank, kills all it left behind.

Runs inside the sandbox (or, on a devnet without one, as a plain child of the worker). It reads
framed JSON requests on stdin and writes framed JSON replies on its own copy of stdout; whatever
a job prints goes to stderr. It is its children's subreaper, so a job that double-forks or calls
setsid still leaves only descendants of the zygote, and every one of them is killed when the job
ends: at its reply, its deadline or its memory limit.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import struct
import sys
import time
from multiprocessing.connection import Connection
from typing import IO, Any

from node.worker.errors import JobTimeoutError, OutOfMemoryError, WorkerCrashedError, failure_reply

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_HEADER = struct.Struct(">I")
MAX_MESSAGE = 16 * 1024 * 1024
_WATCH_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE")


def write_message(stream: IO[bytes], message: dict[str, Any]) -> None:
    """One length-prefixed JSON object."""
    body = json.dumps(message).encode()
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next framed JSON object, None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is over the limit")
    body = stream.read(size)
    if len(body) < size:
        return None
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("message is not a JSON object")
    return value


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _processes() -> dict[int, tuple[int, int]]:
    """pid → (ppid, resident bytes) of every process visible in /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, ...; rss (pages) is field 24 of stat, index 21 here.
        table[int(entry.name)] = (int(fields[1]), int(fields[21]) * _PAGE)
    return table


def _descendants(table: dict[int, tuple[int, int]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def resident_bytes(root: int) -> int:
    """Memory of every process below `root` (the job and whatever it started)."""
    table = _processes()
    return sum(table[pid][1] for pid in _descendants(table, root))


def kill_descendants() -> None:
    """SIGKILL and reap every process below this one until none is left (orphans come back to us)."""
    me = os.getpid()
    while True:
        kids = [pid for pid, (ppid, _) in _processes().items() if ppid == me]
        if not kids:
            break
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in kids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _child(job: dict[str, Any], write_fd: int, keep: int) -> None:
    """In the forked job process: its own session, no control pipes, then the rank."""
    try:
        os.setsid()
        os.close(keep)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        from node.worker.runner import child_main

        child_main(Connection(write_fd), json.dumps(job))
    finally:
        os._exit(0)


def run_job(job: dict[str, Any], timeout_s: float, memory_limit: int, control_fd: int) -> dict[str, Any]:
    """Fork the job, wait for its reply within the deadline and memory limit, then kill what is left."""
    read_fd, write_fd = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job, write_fd, control_fd)
    os.close(write_fd)
    receiver = Connection(read_fd)
    deadline = time.monotonic() + timeout_s
    peak = 0
    reply: dict[str, Any] | None = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                reply = failure_reply(JobTimeoutError.code, f"job ran past its deadline ({timeout_s:.1f} s)")
                break
            if receiver.poll(min(_WATCH_S, left)):
                try:
                    reply = json.loads(receiver.recv_bytes(MAX_MESSAGE))
                except (EOFError, OSError, ValueError):
                    reply = None
                break
            used = resident_bytes(os.getpid())
            peak = max(peak, used)
            if used > memory_limit:
                reply = failure_reply(
                    OutOfMemoryError.code,
                    f"job used {used} bytes of host memory, over its limit of {memory_limit}; killed",
                )
                break
    finally:
        receiver.close()
        status = _reap(pid)
        kill_descendants()
    if reply is None:
        reply = _crash(status)
    rusage_peak = status[1]
    reply.setdefault("timings", {})["spawn_and_run_s"] = time.perf_counter() - started
    reply["peak_rss_bytes"] = max(peak, rusage_peak)
    return reply


def _reap(pid: int) -> tuple[int | None, int]:
    """Kill the job process itself and return (its wait status, its peak resident bytes)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    try:
        _, status, usage = os.wait4(pid, 0)
    except ChildProcessError:
        return None, 0
    return status, usage.ru_maxrss * 1024


def _crash(status: tuple[int | None, int]) -> dict[str, Any]:
    code = status[0]
    if code is not None and os.WIFSIGNALED(code) and os.WTERMSIG(code) == signal.SIGALRM:
        return failure_reply(JobTimeoutError.code, "job process reached its deadline alarm")
    if code is not None and os.WIFSIGNALED(code) and os.WTERMSIG(code) == signal.SIGKILL:
        # SIGKILL before any reply is what the kernel's OOM killer (or RLIMIT_AS) does.
        return failure_reply(OutOfMemoryError.code, "job process was killed (SIGKILL), likely out of memory")
    exit_code = os.waitstatus_to_exitcode(code) if code is not None else "unknown"
    return failure_reply(WorkerCrashedError.code, f"job process died with exit code {exit_code}")


def main() -> None:
    """Serve requests until stdin closes."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a job's prints go to the worker's log, never into the reply stream
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # Not dumpable: a job (same uid) cannot ptrace the zygote or open its fds through /proc.
    _prctl(_PR_SET_DUMPABLE, 0)
    started = time.perf_counter()
    from node.worker.runner import preload  # torch and the workloads, once for every job

    preload()

    write_message(
        replies,
        {"ready": True, "pid": os.getpid(), "import_s": time.perf_counter() - started},
    )
    while (request := read_message(requests)) is not None:
        reply = run_job(
            request["job"], float(request["timeout_s"]), int(request["memory_limit"]), replies.fileno()
        )
        write_message(replies, reply)


if __name__ == "__main__":
    main()
