"""Pids a devnet recorded: whether they run, and whether they are still the processes it started."""

import os
from typing import Any

# psutil's start times come from boot time plus clock ticks: equal within a few hundredths.
START_TIME_TOLERANCE_S = 1.0


def started_at(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch, as the kernel says), None if it does not run."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def same_process(record: dict[str, Any]) -> bool:
    """Whether the pid of a run-file `record` is still the process the devnet started: a pid the
    kernel reused for another program after a reboot or a crash has another start time."""
    recorded = record.get("started_at")
    now = started_at(int(record["pid"]))
    if now is None or recorded is None:
        return False  # gone, or a record without a start time: nothing is signalled blind
    return abs(now - float(recorded)) < START_TIME_TOLERANCE_S


def alive(pid: int) -> bool:
    """Whether `pid` runs; a child of ours that exited is reaped, not counted as a live zombie."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
