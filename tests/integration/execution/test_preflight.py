"""`neurolink job preflight`: the requester's dry run through a provider's vetting and sandbox."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurolink.content import cid_to_digest
from node.worker.samples import code_running_program, program_bytes, tensors_bytes

CLI = str(Path(sys.executable).with_name("neurolink"))
SPEC = {"workload": {"kind": "inference", "program": "model", "inputs": "batch", "batch_size": 16}}


def _preflight(folder: Path, model: bytes, batch: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "model.pt2").write_bytes(model)
    (folder / "batch.safetensors").write_bytes(batch)
    spec = {**SPEC, "inputs": {"model": "model.pt2", "batch": "batch.safetensors"}}
    (folder / "spec.json").write_text(json.dumps(spec))
    return subprocess.run(
        [CLI, "job", "preflight", str(folder / "spec.json"), "--json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_good_spec_reports_its_cid_digest_and_reproducibility(tmp_path: Path) -> None:
    done = _preflight(tmp_path, program_bytes(), tensors_bytes(32), "--runs", "2")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["identical"] and report["runs"] == 2 and report["sandboxed"]
    assert report["digest"] == "0x" + cid_to_digest(report["result_cid"]).hex()
    assert report["peak_rss_bytes"] > 0 and len(report["wall_s"]) == 2


@pytest.mark.parametrize(
    ("model", "batch", "error_class", "needle"),
    [
        (code_running_program("import os"), tensors_bytes(8), "UnsafeInputError", "expr_str"),
        (program_bytes(), b"\x00" * 7, "InvalidJobError", "batch"),
    ],
    ids=["code-in-archive", "not-safetensors"],
)
def test_what_a_provider_refuses_exits_3_naming_it(
    tmp_path: Path, model: bytes, batch: bytes, error_class: str, needle: str
) -> None:
    done = _preflight(tmp_path, model, batch)
    assert done.returncode == 3, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["class"] == error_class and needle in error["message"]
    assert "Traceback" not in done.stderr
