"""What the execution tests share: the running node handle and the slot count."""

from dataclasses import dataclass

from neurolink.config import Settings
from node.worker.dispatch import Dispatcher

SLOTS = 2


@dataclass(frozen=True)
class Node:
    """A running set of device workers and a dispatcher for them."""

    broker: str
    settings: Settings
    dispatcher: Dispatcher
    worker_pids: tuple[int, ...]
