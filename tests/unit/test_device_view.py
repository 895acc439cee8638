"""The operator's view of the registry: `neurolink node devices` and the per-host, per-device metrics."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from neurolink.config import load_settings
from node.daemon.metrics import NodeMetrics
from node.worker.cluster_registry import open_registry
from node.worker.registry import Device, device_report


def test_devices_command_and_metrics_show_every_host_and_state(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, worker_dead_after_s=0.2)
    registry = open_registry(settings)
    registry.register([Device(f"q.{h}", "cpu:0", "cpu", 1, host=h) for h in ("a", "b", "c")])
    registry.heartbeat(["q.a", "q.b", "q.c"])
    registry.reserve("job-1", 1, lease_s=60)
    time.sleep(0.3)
    registry.heartbeat(["q.a", "q.b"])  # c's worker stopped beating
    rows = device_report(registry)
    assert {r["host"]: r["state"] for r in rows} == {"a": "reserved", "b": "free", "c": "dead"}

    env = {**os.environ, "NEUROLINK_HOME": str(tmp_path), "NEUROLINK_WORKER_DEAD_AFTER_S": "0.2"}
    cli = Path(sys.executable).with_name("neurolink")
    out = subprocess.run(
        [str(cli), "node", "devices", "--host-label", "a", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)["hosts"]
    assert list(shown) == ["a"] and shown["a"][0]["job_id"] == "job-1"

    metrics = NodeMetrics()
    metrics._update_devices(tuple(rows))
    value = metrics.registry.get_sample_value
    assert value("neurolink_node_host_devices", {"host": "c", "state": "dead"}) == 1
    assert value("neurolink_node_host_devices", {"host": "a", "state": "reserved"}) == 1
    assert (
        value("neurolink_node_device_up", {"host": "b", "device": "cpu:0", "queue": "q.b", "state": "free"})
        == 1
    )
