"""A node whose determinism class is not the one its provider registered refuses to run (so it claims
nothing) until `neurolink node register` records the new class; then it starts."""

import json
import subprocess

import pytest
from provider_bench import (
    Network,
    NodeLog,
    NodeProcess,
    RedisServer,
    make_host,
    make_provider,
    stop_all,
    wait_until,
)

from neurolink.devnet.network import neurolink_command
from neurolink.errors import ExitCode
from neurolink.verification.emulation import Emulation
from neurolink.verification.suite import host_class
from node.localnet import node_env

pytestmark = pytest.mark.integration
INDEX = 23  # a provider account no other test uses


def test_a_changed_class_stops_the_node_until_it_registers_again(
    network: Network, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    host = make_host(tmp_path_factory.mktemp("class-host"), redis_server.url)
    provider = make_provider(network, host, INDEX)  # registers this machine's class, no emulation
    registered = host_class(Emulation.NONE, 1)
    assert bytes(network.staking.functions.deviceClassOf(provider.address).call()) == registered
    emulated = host_class(Emulation.TF32, 1)
    assert emulated != registered

    # As if its torch or driver changed: the suite now gives the tf32 class.
    node = NodeProcess(provider, "--no-workers", "--emulate", "tf32")
    try:
        assert node.wait_exit(60) == ExitCode.INTEGRITY
    finally:
        stop_all([node])
    said = provider.log_path.read_text()
    assert f"changed from 0x{registered.hex()} (registered) to 0x{emulated.hex()}" in said
    assert "run `neurolink node register`" in said
    assert not [e for e in NodeLog(provider).entries() if e["msg"] == "node started"]

    register = subprocess.run(
        [*neurolink_command(), "node", "register", "--json", "--emulate", "tf32",
         "--config", str(provider.config), "--password-file", str(host.home / "password")],
        env=node_env(provider), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert register.returncode == 0, register.stderr[-2000:]
    out = json.loads(register.stdout)
    assert out["device_class"] == "0x" + emulated.hex() and out["class_changed"] and out["updated"]
    assert bytes(network.staking.functions.deviceClassOf(provider.address).call()) == emulated

    node = NodeProcess(provider, "--no-workers", "--emulate", "tf32")
    try:
        wait_until(
            lambda: any(e["msg"] == "node started" for e in NodeLog(provider).entries()),
            120,
            "node started in its registered class",
            process=node,
        )
    finally:
        stop_all([node])
