"""Fault injection and device emulation are for devnets only: `node run` with either on any other chain
id refuses to start, whichever layer (flag, env, node.toml) asked for it, before any worker starts; a
typo in a config cannot make a public node cheat or pretend to be another device."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurolink.accounts.keystore import Keystore
from neurolink.devnet.anvil import Anvil, start_anvil
from neurolink.devnet.network import neurolink_command
from neurolink.errors import ExitCode

pytestmark = pytest.mark.integration
SEPOLIA = 11155111
PLACEHOLDER = "0x" + "11" * 20


@pytest.fixture
def sepolia_like(contracts_built: object) -> Iterator[Anvil]:
    with start_anvil(chain_id=SEPOLIA) as node:
        yield node


@pytest.mark.parametrize("switch", ["fault", "emulate"])
@pytest.mark.parametrize("where", ["flag", "env", "file"])
def test_fault_injection_is_refused_off_devnet(
    sepolia_like: Anvil, tmp_path: Path, where: str, switch: str
) -> None:
    value = {"fault": "noise", "emulate": "tf32"}[switch]
    Keystore(tmp_path / "keystore", scrypt_n=2**4).new("pw")
    (tmp_path / "pw").write_text("pw\n")
    toml = f'job_market = "{PLACEHOLDER}"\nstaking = "{PLACEHOLDER}"\ndevices = 1\nvram_mb = 1024\n'
    if where == "file":
        toml += f'{switch} = "{value}"\n'
    (tmp_path / "node.toml").write_text(toml)
    env = {**os.environ, "NEUROLINK_HOME": str(tmp_path), "NEUROLINK_RPC_URL": sepolia_like.rpc_url}
    env.pop("NEUROLINK_PASSWORD", None)
    if where == "env":
        env[f"NEUROLINK_NODE_{switch.upper()}"] = value
    args = [f"--{switch}", value] if where == "flag" else []
    # With workers: the refusal comes before the pool starts (no worker log is ever opened).
    command = [*neurolink_command(), "node", "run", "--workers", "--password-file", str(tmp_path / "pw")]
    done = subprocess.run(
        [*command, *args], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == ExitCode.INVALID_INPUT, done.stderr[-2000:]
    assert f"chain {SEPOLIA} is not one" in done.stderr and "devnets only" in done.stderr
    assert f"({value})" in done.stderr
    assert not (tmp_path / "keystore").joinpath("txs").exists()
    assert not (tmp_path / "logs").exists()
