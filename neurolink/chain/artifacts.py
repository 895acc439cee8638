"""Contract handles from build artifacts: load ABI and bytecode, deploy, bind to an address."""

import json
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.chain.errors import ArtifactNotFoundError
from neurolink.compiler.build import DEFAULT_OUT

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract


def artifacts_dir() -> Path:
    return Path(os.environ.get("NEUROLINK_ARTIFACTS", DEFAULT_OUT))


@cache
def load_artifact(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or artifacts_dir()) / f"{name}.json"
    if not path.exists():
        raise ArtifactNotFoundError(f"no artifact {path}: run `neurolink build` first")
    artifact: dict[str, Any] = json.loads(path.read_text())
    return artifact


def all_abis(directory: Path | None = None) -> list[list[dict[str, Any]]]:
    """Every artifact's ABI, used to decode a revert from any contract the call touched."""
    folder = directory or artifacts_dir()
    return [load_artifact(p.stem, folder)["abi"] for p in sorted(folder.glob("*.json"))]


def contract_at(w3: "Web3", name: str, address: str) -> "Contract":
    return w3.eth.contract(address=w3.to_checksum_address(address), abi=load_artifact(name)["abi"])
