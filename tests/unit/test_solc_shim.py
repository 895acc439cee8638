"""The solc-js shim answers like native solc: --version, --combined-json, --standard-json."""

import json
import subprocess
from pathlib import Path

from neurolink.compiler.toolchain import SHIM

SOURCE = (
    "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { function f() external {} }\n"
)


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHIM), *args], input=stdin, capture_output=True, text=True, check=False, timeout=60
    )


def test_version_matches_native_banner() -> None:
    out = _run("--version")
    assert out.returncode == 0
    assert out.stdout.splitlines()[1].startswith("Version: 0.8.37+commit.")


def test_combined_json(tmp_path: Path) -> None:
    (tmp_path / "A.sol").write_text(SOURCE)
    out = _run("--combined-json", "abi,bin", str(tmp_path / "A.sol"))
    assert out.returncode == 0, out.stderr
    contract = json.loads(out.stdout)["contracts"][f"{tmp_path}/A.sol:A"]
    assert contract["abi"][0]["name"] == "f"
    assert len(contract["bin"]) > 100


def test_standard_json_resolves_imports_from_base_path(tmp_path: Path) -> None:
    (tmp_path / "B.sol").write_text(SOURCE.replace("contract A", "contract B"))
    request = {
        "language": "Solidity",
        "sources": {"main.sol": {"content": 'pragma solidity ^0.8.24; import "B.sol"; contract M is B {}'}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    out = _run("--standard-json", "--base-path", str(tmp_path), stdin=json.dumps(request))
    result = json.loads(out.stdout)
    assert not [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert "M" in result["contracts"]["main.sol"]


def test_large_output_is_not_truncated(tmp_path: Path) -> None:
    body = "".join(f"function f{i}() external pure returns (uint) {{ return {i}; }}\n" for i in range(300))
    (tmp_path / "Big.sol").write_text(f"pragma solidity ^0.8.24;\ncontract Big {{\n{body}}}\n")
    out = _run("--combined-json", "abi,bin,bin-runtime", str(tmp_path / "Big.sol"))
    assert len(out.stdout) > 64 * 1024
    json.loads(out.stdout)  # a cut-off stream would not parse
