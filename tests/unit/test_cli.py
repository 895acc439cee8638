"""The root CLI: groups load from entry points without importing heavy modules."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from neurolink.cli.main import app

runner = CliRunner()


def test_help_lists_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("build", "devnet"):
        assert group in result.output


def test_help_does_not_import_web3_torch_or_solcx() -> None:
    code = (
        "import sys, neurolink.cli.main as m\n"
        "print(sorted(n for n in ('web3', 'torch', 'solcx', 'celery') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_flag() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("neurolink ")


def test_neurolink_error_maps_to_exit_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "contracts"
    src.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "neurolink.cli", "build", "--src", str(src), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "no .sol files" in proc.stderr


def test_build_json_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "A.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { uint256 public x; }\n"
    )
    args = ["build", "--src", str(src), "--out", str(tmp_path / "out"), "--json"]
    first = json.loads(runner.invoke(app, args).output)
    second = json.loads(runner.invoke(app, args).output)
    assert first["compiled"] is True and first["contracts"] == ["A"]
    assert second["compiled"] is False
