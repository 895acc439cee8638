"""The device a worker owns, as its pool described it in the environment."""

import os
from typing import Any

# Set by the worker pool for each worker process it starts.
ENV_DEVICE_KIND = "NEUROLINK_DEVICE_KIND"
ENV_DEVICE_INDEX = "NEUROLINK_DEVICE_INDEX"
ENV_DEVICE_THREADS = "NEUROLINK_DEVICE_THREADS"
# The worker's queue: the device it heartbeats for in the registry.
ENV_DEVICE_QUEUE = "NEUROLINK_DEVICE_QUEUE"
# Test-only: a worker started with this runs .pt2 archives unvetted, to show the sandbox alone holds.
ENV_UNSAFE_NO_VETTING = "NEUROLINK_UNSAFE_NO_PT2_VETTING"


def this_device() -> dict[str, Any]:
    """The device this worker owns, from the environment the pool gave it."""
    kind = os.environ.get(ENV_DEVICE_KIND, "cpu")
    index = int(os.environ.get(ENV_DEVICE_INDEX, "0"))
    threads = int(os.environ.get(ENV_DEVICE_THREADS, "1"))
    return {"kind": kind, "index": index, "threads": threads, "id": f"{kind}:{index}"}


def vetting_enabled() -> bool:
    return os.environ.get(ENV_UNSAFE_NO_VETTING) != "1"
