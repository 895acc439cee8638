"""Prometheus metrics of a node: jobs by phase (quarantined included), earnings, slashes, device busy
time, chain lag, failed steps, and every device of every host by state."""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from node.daemon.ledger import Ledger, Phase

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readings:
    """What the daemon knows beyond its ledger, read once per tick (the metrics never see the daemon)."""

    head: int
    lag: int
    claimable: int
    step_errors: int
    # The provider's devices on every host (node.worker.registry.device_report rows); empty if unknown.
    devices: tuple[dict[str, Any], ...] = ()


class NodeMetrics:
    """A registry of its own (several nodes may share a process in tests) served over HTTP."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        self.host = host
        self.port = port
        self.registry = CollectorRegistry()
        self.jobs = Gauge(
            "neurolink_node_jobs", "Jobs in the ledger by phase", ["phase"], registry=self.registry
        )
        self.earned = Gauge(
            "neurolink_node_earned_tokens",
            "Rewards credited by settled jobs (token units)",
            registry=self.registry,
        )
        self.slashed = Gauge(
            "neurolink_node_slashed_tokens",
            "Collateral lost to slashing (token units)",
            registry=self.registry,
        )
        self.busy = Gauge(
            "neurolink_node_device_busy_seconds",
            "Seconds of compute the node's jobs took",
            registry=self.registry,
        )
        self.lag = Gauge(
            "neurolink_node_chain_lag_blocks", "Chain head minus the watcher cursor", registry=self.registry
        )
        self.head = Gauge("neurolink_node_chain_head_block", "Latest block seen", registry=self.registry)
        self.claimable = Gauge(
            "neurolink_node_claimable_tokens", "Earnings waiting to be withdrawn", registry=self.registry
        )
        self.step_errors = Gauge(
            "neurolink_node_step_errors",
            "Steps of the daemon's loop that raised since it started (each retried or quarantined)",
            registry=self.registry,
        )
        self.device_state = Gauge(
            "neurolink_node_device_up",
            "1 for each device in its current state (free, reserved, dead), by host",
            ["host", "device", "queue", "state"],
            registry=self.registry,
        )
        self.host_devices = Gauge(
            "neurolink_node_host_devices",
            "Devices per host by state",
            ["host", "state"],
            registry=self.registry,
        )
        self.heartbeat_age = Gauge(
            "neurolink_node_device_heartbeat_age_seconds",
            "Seconds since the device's worker last beat",
            ["host", "device", "queue"],
            registry=self.registry,
        )
        self._server: WSGIServer | None = None

    def start(self) -> None:
        from prometheus_client import start_http_server

        if self.port is None:
            return
        self._server, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._server.server_port
        log.info("metrics endpoint", extra={"url": f"http://{self.host}:{self.port}/metrics"})

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def update(self, ledger: Ledger, readings: Readings) -> None:
        counts = ledger.counts_by_phase()
        for phase in Phase:
            self.jobs.labels(phase=phase.value).set(counts.get(phase.value, 0))
        totals = ledger.totals()
        self.earned.set(totals["earned"])
        self.slashed.set(totals["slashed"])
        self.busy.set(ledger.busy_seconds())
        self.lag.set(readings.lag)
        self.head.set(readings.head)
        self.claimable.set(readings.claimable)
        self.step_errors.set(readings.step_errors)
        self._update_devices(readings.devices)

    def _update_devices(self, devices: tuple[dict[str, Any], ...]) -> None:
        # Rebuilt each tick: a deregistered device or a vanished host leaves no stale series behind.
        self.device_state.clear()
        self.host_devices.clear()
        self.heartbeat_age.clear()
        per_host: dict[tuple[str, str], int] = {}
        for d in devices:
            self.device_state.labels(
                host=d["host"], device=d["device"], queue=d["queue"], state=d["state"]
            ).set(1)
            if d["heartbeat_age_s"] is not None:
                self.heartbeat_age.labels(host=d["host"], device=d["device"], queue=d["queue"]).set(
                    d["heartbeat_age_s"]
                )
            per_host[d["host"], d["state"]] = per_host.get((d["host"], d["state"]), 0) + 1
        for host in {h for h, _ in per_host}:
            for state in ("free", "reserved", "dead"):
                self.host_devices.labels(host=host, state=state).set(per_host.get((host, state), 0))
