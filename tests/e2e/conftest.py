"""The whole network as a user runs it: `neurolink devnet up` (anvil, contracts, three nodes with Celery
workers, the keeper) in a home of the test's own, and `neurolink` commands against it."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neurolink.devnet.anvil import free_port

NEUROLINK = str(Path(sys.executable).with_name("neurolink"))
TOKEN = 10**18


@dataclass
class Devnet:
    """A running devnet: its home, its run record and the environment its commands need."""

    home: Path
    run: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
        return {**clean, "NEUROLINK_HOME": str(self.home), "NEUROLINK_RPC_URL": self.run["rpc_url"]}

    @property
    def password_file(self) -> str:
        return str(self.run["wallet"]["password_file"])

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [NEUROLINK, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check:
            assert result.returncode == 0, f"neurolink {' '.join(args)}: {result.stderr}"
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def client(self) -> Any:
        from coordinator.client import Client
        from neurolink.accounts.keystore import Keystore
        from neurolink.config import load_settings

        settings = load_settings(home=self.home, rpc_url=self.run["rpc_url"])
        password = Path(self.password_file).read_text().splitlines()[0]
        account = Keystore(settings.keystore_dir).unlock(self.run["wallet"]["address"], password)
        return Client(settings, account)

    def logs(self, role_index: int) -> list[dict[str, Any]]:
        record = next(p for p in self.run["processes"] if p.get("index") == role_index)
        lines = Path(record["log"]).read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def start_devnet(root: Path, *faults: str) -> Iterator[Devnet]:
    """`devnet up` with three providers and `faults` (INDEX=KIND); `devnet down` afterwards, always."""
    home = root / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")} | {
        "NEUROLINK_HOME": str(home)
    }
    args = [NEUROLINK, "devnet", "up", "--json", "--port", str(free_port()), "--providers", "3"]
    for fault in faults:
        args += ["--fault", fault]
    up = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        assert up.returncode == 0, up.stderr
        yield Devnet(home, json.loads(up.stdout))
    finally:
        down = subprocess.run(
            [NEUROLINK, "devnet", "down", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def cheater_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """Providers 0 and 1 honest, provider 2 reveals wrong results."""
    yield from start_devnet(tmp_path_factory.mktemp("devnet"), "2=wrong-result")
