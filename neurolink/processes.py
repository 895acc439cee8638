"""Stops child processes politely: SIGTERM to all at once, SIGKILL to whoever outlives the grace time."""

import subprocess
import time
from collections.abc import Iterable
from typing import Any


def stop_processes(processes: Iterable["subprocess.Popen[Any]"], timeout: float = 10.0) -> None:
    """Terminate every live process, wait up to `timeout` in all, kill and reap the stragglers."""
    live = [p for p in processes if p.poll() is None]
    for process in live:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in live:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
