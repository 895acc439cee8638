"""Bad invocations a newcomer tried, fed to the real `neurolink` command: exit code, message, no traceback.

The RPC URL points at a closed port: a command that connected before checking its arguments would
exit 6 (service unavailable) instead of 3 (invalid input).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NEUROLINK = str(Path(sys.executable).with_name("neurolink"))
DEAD_RPC = "http://127.0.0.1:9"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-errors")
    (root / "pw").write_text("secret\n")
    (root / "empty-pw").write_text("\n")
    (root / "unreadable").mkdir()
    (root / "bad.json").write_text("{not json")
    (root / "list.json").write_text("[1, 2]")
    spec = {"workload": {"kind": "train", "model": {"arch": "mlp", "in_features": 2, "out_features": 2}}}
    (root / "missing-input.json").write_text(json.dumps({**spec, "inputs": {"dataset": "data.safetensors"}}))
    (root / "bad-field.json").write_text(json.dumps({"workload": {"kind": "benchmark", "size": 1}}))
    (root / "bench.json").write_text(json.dumps({"workload": {"kind": "benchmark"}}))
    return root


def _case(argv: str, code: int, message: str) -> tuple[str, int, str]:
    return (argv, code, message)


CASES = [
    _case("job list --requester 0xNOTANADDRESS", 3, "not an address"),
    _case("job list --requester 0x7099797", 3, "not an address"),
    _case("job list --account 0x123", 3, "not an address"),
    _case(f"job list --requester {ADDRESS.replace('C', 'c', 1)}", 3, "checksum"),
    _case("job status 1 --network nosuchnet", 3, "unknown network 'nosuchnet'"),
    _case("job status 1", 6, "no JSON-RPC answer at http://127.0.0.1:9"),
    _case("job status 0", 3, "greater than or equal to 1"),
    _case("job status", 2, "Missing argument"),
    _case("job lsit", 2, "No such command"),
    _case("node stake abc", 3, "not an amount: 'abc'"),
    _case("node stake -- -5", 3, "amount must be positive"),
    _case("node unstake nan", 3, "amount must be positive"),
    _case("node stake 5 --password-file {home}/nonexistent", 3, "cannot read password file"),
    _case("node stake 5 --password-file {home}/unreadable", 3, "cannot read password file"),
    _case("node stake 5 --password-file {home}/empty-pw", 3, "is empty"),
    _case("node register --account nobody", 3, "not an address"),
    _case("job submit {home}/bad.json --password-file {home}/pw", 3, "not valid JSON"),
    _case("job submit {home}/list.json --password-file {home}/pw", 3, "must be a JSON object"),
    _case("job submit {home}/missing-input.json --password-file {home}/pw", 3, "no file"),
    _case("job submit {home}/bad-field.json --password-file {home}/pw", 3, "workload.benchmark.size"),
    _case("job submit {home}/bench.json --payment lots --password-file {home}/pw", 3, "not an amount"),
    _case("job submit {home}/bench.json --input dataset --password-file {home}/pw", 3, "NAME=PATH"),
    _case("job quote {home}/missing-input.json", 3, "no file"),
    _case("devnet fund 0xdeadbeef", 3, "not an address"),
    _case(f"devnet fund {ADDRESS} --tokens -1", 3, "amount must be"),
    _case("account balance 0xZZ", 3, "not an address"),
    _case("account new --password-file {home}/empty-pw", 3, "is empty"),
    _case("devnet up --fault x", 3, "INDEX=KIND"),
    _case("devnet up --port 70000", 3, "less than or equal to 65535"),
    _case("content get notacid -o {home}/out", 3, "not a CID"),
    _case("content serve --port -1", 3, "greater than or equal to 0"),
    _case("account import --key-file {home}/nonexistent --password-file {home}/pw", 3, "cannot read key"),
    _case("deploy --account 0xbad", 3, "not an address"),
    _case("node register --devices 0", 3, "node config devices"),
    _case("node register --tier 999", 3, "node config tier"),
    # Found missing before connecting: not found (5), not "no chain" (6).
    _case("job cancel 1", 5, "no keystore"),
    _case("coordinator keeper --once", 5, "no keystore"),
]


def _run(home: Path, argv: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
    env |= {"NEUROLINK_HOME": str(home / "home"), "NEUROLINK_RPC_URL": DEAD_RPC}
    args = [part.format(home=home) for part in argv.split()]
    return subprocess.run(
        [NEUROLINK, *args, *extra],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("argv", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_invocation_exits_with_code_and_message(home: Path, argv: str, code: int, message: str) -> None:
    result = _run(home, argv)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(("argv", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_invocation_under_json_is_a_json_object(home: Path, argv: str, code: int, message: str) -> None:
    result = _run(home, argv, "--json")
    assert result.returncode == code, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == code
    assert message in error["message"]
    assert "Traceback" not in result.stderr + result.stdout


def test_reading_jobs_never_asks_for_a_password(home: Path) -> None:
    """`job list --account` reads: with no terminal and no password it gets as far as the (dead) RPC."""
    result = _run(home, f"job list --account {ADDRESS}")
    assert result.returncode == 6, result.stderr
    assert "password" not in result.stderr.lower()
