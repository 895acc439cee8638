"""What this machine offers: GPUs and their memory via torch.cuda, else CPU device slots."""

import os
from dataclasses import dataclass

from neurolink.config import Settings
from node.daemon.config import NodeConfig
from node.daemon.errors import DeviceClassChangedError


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


def device_class(hardware: Hardware, config: NodeConfig, *, fresh: bool = False) -> bytes:
    """This node's determinism class: the suite run on its devices, under its emulation, as its device
    workers compute (neurolink.verification.suite.host_class); remembered on disk for this machine's
    torch, driver and devices unless `fresh`."""
    from neurolink.verification.class_cache import cached_host_class

    return cached_host_class(config.emulate, hardware.devices, fresh=fresh)


def check_device_class(computed: bytes, registered: bytes, provider: str) -> None:
    """Refuse to run a node whose class is not the registered one (DeviceClassChangedError)."""
    if computed == registered:
        return
    was = "none (0x00…00)" if registered == bytes(32) else "0x" + registered.hex()
    raise DeviceClassChangedError(
        f"the determinism class of {provider}'s devices changed from {was} (registered) to "
        f"0x{computed.hex()} (the suite run now: a new driver, torch or device, or another --emulate);"
        " it claims no job in a class it is not registered for: run `neurolink node register` (same"
        " config and --emulate) to register the new class, then start the node again"
    )
