"""What this machine offers: GPUs and their memory via torch.cuda, else CPU device slots."""

import os
from dataclasses import dataclass

from neurolink.config import Settings
from node.daemon.config import NodeConfig


@dataclass(frozen=True)
class Hardware:
    devices: int
    vram_mb: int
    kind: str  # "cuda" or "cpu"


def detect(settings: Settings, config: NodeConfig) -> Hardware:
    """GPU count and the smallest GPU's memory; without GPUs, CPU slots sharing the machine's memory."""
    if config.devices is not None and config.vram_mb is not None:
        # Configured outright: no need to import torch (seconds) to find out.
        return Hardware(config.devices, config.vram_mb, "configured")
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        count = torch.cuda.device_count()
        vram = min(torch.cuda.get_device_properties(i).total_memory for i in range(count)) // 2**20
        return Hardware(
            config.devices or count, config.vram_mb if config.vram_mb is not None else vram, "cuda"
        )
    slots = config.devices or settings.cpu_slots
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    return Hardware(slots, config.vram_mb if config.vram_mb is not None else memory // slots, "cpu")
