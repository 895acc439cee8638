"""Compiles contracts/ with py-solc-x into build/contracts/<Name>.json, skipping unchanged sources."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurolink.compiler.toolchain import SOLC_VERSION, solc_binary
from neurolink.errors import CompilerError

EVM_VERSION = "cancun"
# Kept equal to foundry.toml (optimizer_runs, via_ir) and slither.config.json: the contracts are
# tuned for per-call gas (docs/BENCHMARKS.md "Contracts gas"), not deployment size.
OPTIMIZER_RUNS = 500
VIA_IR = True
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES = PROJECT_ROOT / "contracts"
DEFAULT_OUT = PROJECT_ROOT / "build" / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"


@dataclass(frozen=True)
class BuildResult:
    """What a build did: which artifacts exist and whether the compiler ran."""

    out_dir: Path
    contracts: tuple[str, ...]
    compiled: bool
    source_hash: str


def _sources(src_dir: Path, root: Path) -> dict[str, str]:
    files = sorted(src_dir.rglob("*.sol"))
    if not files:
        raise CompilerError(f"no .sol files under {src_dir}")
    return {f.relative_to(root).as_posix(): f.read_text() for f in files}


def _standard_input(sources: dict[str, str]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": VIA_IR,
            "remappings": [f"@openzeppelin/contracts/={NODE_MODULES}/@openzeppelin/contracts/"],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def build(
    src_dir: Path = DEFAULT_SOURCES, out_dir: Path = DEFAULT_OUT, *, force: bool = False
) -> BuildResult:
    """Compile every contract under `src_dir`; a no-op when sources and settings are unchanged."""
    root = src_dir.resolve().parent
    sources = _sources(src_dir.resolve(), root)
    std_input = _standard_input(sources)
    source_hash = _digest({"input": std_input, "solc": SOLC_VERSION})
    stamp = out_dir / ".source-hash"
    if not force and stamp.exists() and stamp.read_text() == source_hash:
        cached = tuple(sorted(p.stem for p in out_dir.glob("*.json")))
        return BuildResult(out_dir, cached, compiled=False, source_hash=source_hash)

    import solcx
    from solcx.exceptions import SolcError

    try:
        output = solcx.compile_standard(
            std_input,
            base_path=str(root),
            allow_paths=[str(root), str(NODE_MODULES)],
            solc_binary=solc_binary(),
        )
    except SolcError as exc:
        errors = [e for e in (exc.error_dict or []) if e.get("severity") == "error"]
        message = "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
        raise CompilerError(message.strip() or str(exc)) from exc

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.json"):
        old.unlink()
    names: list[str] = []
    for source_name, contracts in output.get("contracts", {}).items():
        if not source_name.startswith(src_dir.name + "/"):
            continue  # libraries pulled in by import get no artifact of their own
        for name, compiled in contracts.items():
            bytecode = compiled["evm"]["bytecode"]["object"]
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "abi": compiled["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "sourceHash": hashlib.sha256(sources[source_name].encode()).hexdigest(),
                "compiler": {"version": SOLC_VERSION, "evmVersion": EVM_VERSION},
            }
            (out_dir / f"{name}.json").write_text(json.dumps(artifact, indent=1, sort_keys=True))
            names.append(name)
    stamp.write_text(source_hash)
    return BuildResult(out_dir, tuple(sorted(names)), compiled=True, source_hash=source_hash)
