"""Each bad input of tests/corpus meets its entry point: a specific error, its exit code, nothing changed."""

import hashlib
import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

from neurolink.errors import NeuroLinkError
from neurolink.vetting import check_safetensors
from tests.corpus.cases import CASES, Case


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with its mode and the hash of its bytes: what a failed call must keep."""
    state: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        mode = oct(path.stat().st_mode)
        state[rel] = mode if path.is_dir() else f"{mode} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    return state


def test_the_corpus_covers_every_kind_of_input() -> None:
    kinds = {case.kind for case in CASES}
    assert kinds == {
        "job spec", "spec file", "CID", ".pt2 archive", "safetensors", "keystore",
        "config file", "deployments file", "RPC answer", "CLI",
    }  # fmt: skip
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


# Cases that read a chain use the session's real anvil: marked as needing that service.
PARAMS = [pytest.param(c, id=c.id, marks=[pytest.mark.integration] if c.chain else []) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input_is_refused_specifically_and_changes_nothing(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("NEUROLINK_") and n != "NEUROLINK_ANVIL"]:
        monkeypatch.delenv(name)  # the case's own files alone decide the outcome
    call = case.arrange(tmp_path, request.getfixturevalue("w3")) if case.chain else case.arrange(tmp_path)
    before = _snapshot(tmp_path)
    if case.error is None:
        result = call()
        assert isinstance(result, subprocess.CompletedProcess)
        assert result.returncode == case.exit_code, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert "unexpected" not in result.stderr  # the CLI's words for a bug that escaped as a generic error
    else:
        with pytest.raises(NeuroLinkError) as caught:
            call()
        assert type(caught.value) is case.error, repr(caught.value)
        assert caught.value.exit_code == case.exit_code
    assert _snapshot(tmp_path) == before


def test_nan_filled_tensors_are_valid_data(tmp_path: Path) -> None:
    """NaN is data, not a malformed file: the vetter judges the header only, and models may produce NaN."""
    header = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    path = tmp_path / "nan.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + struct.pack("<4f", *[float("nan")] * 4))
    check_safetensors(path, "inputs.x")
