"""The provider's own settings: node.toml under NEUROLINK_HOME, NEUROLINK_NODE_* env, then CLI flags."""

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from neurolink.config import Settings, layered_values, validated
from neurolink.verification.emulation import ENV_EMULATE, Emulation
from node.daemon.errors import NodeConfigError
from node.worker.cheats import ENV_CHEAT, Cheat

ENV_PREFIX = "NEUROLINK_NODE_"


class Fault(StrEnum):
    """Misbehaviour for demos and tests only: off by default, announced loudly in the log when on."""

    NONE = "none"
    WRONG_RESULT = "wrong-result"  # reveal a digest that is not the result's
    SILENT = "silent"  # claim and compute, but never commit or reveal
    # Compute cheats, done by the node's workers (node/worker/cheats.py).
    SMALLER_MODEL = Cheat.SMALLER_MODEL.value
    DOWNCAST_FP16 = Cheat.DOWNCAST_FP16.value
    DOWNCAST_BF16 = Cheat.DOWNCAST_BF16.value
    SKIP_LAYERS = Cheat.SKIP_LAYERS.value
    NOISE = Cheat.NOISE.value
    COPIED_INPUT = Cheat.COPIED_INPUT.value
    # Reveal a fingerprint made up without computing the result (random bytes).
    FORGED_FINGERPRINT = "forged-fingerprint"


class NodeConfig(BaseModel):
    """What the operator decides: contracts, account, price, capacity, thresholds, observability."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_market: str | None = None
    staking: str | None = None
    token: str | None = None
    # Where the watcher starts on a fresh ledger; default: the JobMarket's deployment block from the
    # deployments file that names it (else 0, a scan from genesis).
    start_block: int = Field(default=0, ge=0)
    account: str | None = None
    ledger_path: Path | None = None
    # Token units (wei of the token) per GPU-second; a job must pay at least price x declared GPU-seconds.
    price_per_gpu_second: int = Field(default=0, ge=0, lt=2**96)
    # None: detect (torch.cuda devices, else the CPU device slots of the settings).
    devices: int | None = Field(default=None, ge=1, le=256)
    vram_mb: int | None = Field(default=None, ge=0, lt=2**32)
    tier: int = Field(default=0, ge=0, le=255)
    max_runtime_s: int = Field(default=3600, ge=1)
    # Seconds a job needs between claim and the commit deadline beyond its declared runtime.
    deadline_margin_s: int = Field(default=30, ge=0)
    # Claimed jobs a device may hold at once (see Policy.can_claim_now): 2 claims the next job while
    # one computes; more suits many short jobs. A queued job is claimed only if its deadline allows.
    jobs_per_device: int = Field(default=2, ge=1, le=64)
    withdraw_threshold: int = Field(default=0, ge=0)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    replace_after: float = Field(default=30.0, gt=0)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    fault: Fault = Fault.NONE
    # Act as another device class (tests and benchmarks on devnets only; neurolink.verification.emulation).
    emulate: Emulation = Emulation.NONE

    def devnet_only(self) -> list[str]:
        """The settings that make this node misbehave or pretend, which only a devnet may run."""
        found = [f"fault injection ({self.fault.value})"] if self.fault is not Fault.NONE else []
        if self.emulate is not Emulation.NONE:
            found.append(f"device emulation ({self.emulate.value})")
        return found

    def worker_env(self) -> dict[str, str]:
        """What the node's device workers must know of its test switches: emulated device, compute cheat."""
        env = {ENV_EMULATE: self.emulate.value} if self.emulate is not Emulation.NONE else {}
        if self.fault.value in {c.value for c in Cheat if c is not Cheat.NONE}:
            env[ENV_CHEAT] = self.fault.value
        return env

    def ledger_file(self, settings: Settings) -> Path:
        return self.ledger_path or settings.home / "node" / "ledger.sqlite"


def load_node_config(settings: Settings, path: Path | None = None, **overrides: Any) -> NodeConfig:
    """node.toml (default $NEUROLINK_HOME/node.toml), then NEUROLINK_NODE_* env, then `overrides`."""
    path = path or settings.home / "node.toml"
    values = layered_values(path, NodeConfig, ENV_PREFIX, NodeConfigError, overrides)
    deployment, blocks = _deployment(settings)
    for name, key in (("job_market", "JobMarket"), ("staking", "Staking"), ("token", "NeuroToken")):
        if values.get(name) is None and key in deployment:
            values[name] = deployment[key]
    if values.get("start_block") is None and isinstance(values.get("job_market"), str):
        start = blocks.get(str(values["job_market"]).lower())
        if start is not None:
            values["start_block"] = start
    return validated(NodeConfig, values, NodeConfigError, "node config")


def deploy_block(settings: Settings, job_market: str) -> int:
    """The block `job_market` was deployed in, from the deployments files; 0 where none records it."""
    return _deployment(settings)[1].get(job_market.lower(), 0)


def _deployment(settings: Settings) -> tuple[dict[str, str], dict[str, int]]:
    """Contract addresses from $NEUROLINK_HOME/deployments/*.json ({"contracts": {name: address}}), and
    the block each file's JobMarket was deployed in, by its lowercase address."""
    from neurolink.chain.deployments import devnet_deployment_path

    folder = settings.deployments_dir
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths and (devnet := devnet_deployment_path(settings)) is not None and devnet.is_file():
        paths = [devnet]  # the devnet another home on this machine started (`devnet up` recorded it)
    found: dict[str, str] = {}
    blocks: dict[str, int] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise NodeConfigError(f"{path}: not valid JSON: {exc}") from exc
        contracts = data.get("contracts", data) if isinstance(data, dict) else {}
        if not isinstance(contracts, dict):
            raise NodeConfigError(f"{path}: contracts must map contract names to addresses")
        found.update({k: v for k, v in contracts.items() if isinstance(v, str)})
        record = data.get("job_market") if isinstance(data, dict) else None
        if isinstance(record, dict) and isinstance(record.get("address"), str):
            block = record.get("block", data.get("deploy_block"))
            if isinstance(block, int) and block >= 0:
                blocks[record["address"].lower()] = block
    return found, blocks


def require(value: str | None, name: str) -> str:
    if not value:
        raise NodeConfigError(
            f"no {name} address: set it in node.toml, NEUROLINK_NODE_{name.upper()} or a flag"
        )
    return value
