"""Requester-side vetting: the provider's static input checks, as a library call and in `job submit`."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from neurolink.errors import VettingError
from neurolink.pt2 import UnsafeProgramError
from neurolink.spec import InferenceWorkload, JobSpec, Limits
from neurolink.vetting import InputTooLargeError, MalformedTensorsError, MissingInputError, vet_job
from node.worker.samples import PROGRAM_CID, TENSORS_CID, code_running_program, program_bytes, tensors_bytes

MiB = 1 << 20


def _spec(max_input_bytes: int = 64 * MiB) -> JobSpec:
    return JobSpec(
        workload=InferenceWorkload(program="model", inputs="data"),
        inputs={"model": PROGRAM_CID, "data": TENSORS_CID},
        limits=Limits(max_input_bytes=max_input_bytes),
    )


def _safetensors(header: dict[str, object], data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.fixture
def job(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "model.pt2").write_bytes(program_bytes())
    (tmp_path / "data.safetensors").write_bytes(tensors_bytes())
    return {"model": tmp_path / "model.pt2", "data": tmp_path / "data.safetensors"}


def test_a_clean_inference_job_passes(job: dict[str, Path]) -> None:
    vet_job(_spec(), job)


def test_an_evil_program_is_refused_naming_the_input_and_the_json_path(job: dict[str, Path]) -> None:
    job["model"].write_bytes(code_running_program("__import__('os').system('true')"))
    with pytest.raises(UnsafeProgramError) as caught:
        vet_job(_spec(), job)
    assert caught.value.code == "UnsafeInput"
    assert caught.value.field.startswith("inputs.model: models/model.json: $.graph_module.graph.")
    assert caught.value.field.endswith(".as_expr.expr_str")
    assert str(caught.value).startswith("UnsafeProgramError at inputs.model: ")


def test_an_oversized_input_is_refused_from_stat_without_reading_it(job: dict[str, Path]) -> None:
    big = job["data"]
    with big.open("r+b") as f:
        f.truncate(256 * MiB)  # sparse: costs no disk, but a read would pull 256 MiB
    io_before = _bytes_read()
    with pytest.raises(InputTooLargeError, match=r"at inputs\.data: 268435456 bytes, over the limit"):
        vet_job(_spec(max_input_bytes=MiB), job)
    assert _bytes_read() - io_before < MiB


def _bytes_read() -> int:
    """Bytes this process has read through syscalls so far (Linux /proc/self/io `rchar`)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_missing_and_unknown_inputs(job: dict[str, Path]) -> None:
    with pytest.raises(MissingInputError, match=r"at inputs\.data: no file supplied"):
        vet_job(_spec(), {"model": job["model"]})
    vet_job(_spec(), {"model": job["model"]}, partial=True)
    with pytest.raises(MissingInputError, match=r"at inputs\.extra: the spec has no input"):
        vet_job(_spec(), {**job, "extra": job["data"]})
    job["data"].unlink()
    with pytest.raises(MissingInputError, match=r"at inputs\.data: cannot stat"):
        vet_job(_spec(), job)


F32 = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"\x01\x02", "", "shorter than a safetensors header"),
        (struct.pack("<Q", 1 << 40) + b"{}", r": header", "runs past the file"),
        (struct.pack("<Q", 4) + b"nope", r": header", "not JSON"),
        (_safetensors({"x": {**F32, "dtype": "OBJ"}}, bytes(16)), r": x\.dtype", "unknown dtype 'OBJ'"),
        (_safetensors({"x": {**F32, "shape": [2, -2]}}, bytes(16)), r": x\.shape", "non-negative"),
        (_safetensors({"x": {**F32, "shape": [3, 2]}}, bytes(16)), r": x\.data_offsets", "needs 24 bytes"),
        (_safetensors({"x": {**F32, "data_offsets": [0, 32]}}, bytes(16)), r": x\.data_offsets", "outside"),
        (
            _safetensors({"x": F32, "y": {**F32, "data_offsets": [8, 24]}}, bytes(24)),
            r": y\.data_offsets",
            "overlaps the previous tensor",
        ),
        (_safetensors({"x": {**F32, "data_offsets": [4, 20]}}, bytes(20)), r": x\.data_offsets", "gap"),
        (_safetensors({"x": F32}, bytes(20)), r": data", "cover 16 of 20"),
        (_safetensors({"x": {**F32, "extra": 1}}, bytes(16)), r": x", "must be"),
        (_safetensors({"__metadata__": {"a": 1}, "x": F32}, bytes(16)), r": __metadata__", "strings"),
    ],
)
def test_malformed_safetensors_are_refused_from_the_header(
    job: dict[str, Path], content: bytes, field: str, message: str
) -> None:
    job["data"].write_bytes(content)
    with pytest.raises(
        MalformedTensorsError, match=rf"^MalformedTensorsError at inputs\.data{field}.*{message}"
    ):
        vet_job(_spec(), job)


def test_safetensors_the_library_loads_pass(job: dict[str, Path]) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {"a": torch.zeros(3, 0), "b": torch.ones(2, 5, dtype=torch.bfloat16), "c": torch.arange(7)}
    save_file(tensors, str(job["data"]), metadata={"note": "x"})
    vet_job(_spec(), job)


def test_every_vetting_error_shares_one_root() -> None:
    for cls in (UnsafeProgramError, InputTooLargeError, MalformedTensorsError, MissingInputError):
        assert issubclass(cls, VettingError)
        assert cls.exit_code == 3


# --------------------------------------------------------------------------------- job submit


def _submit(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    spec = {"workload": {"kind": "inference", "program": "model", "inputs": "data"}, "inputs": {}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    # An RPC nobody listens on: anything past vetting fails fast instead of reaching a chain.
    cmd = [sys.executable, "-m", "neurolink.cli", "job", "submit", str(tmp_path / "spec.json")]
    cmd += ["--rpc-url", "http://127.0.0.1:9", *extra]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NEUROLINK_HOME": str(tmp_path / "home")}
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL)


def test_submit_refuses_an_evil_program_before_connecting(job: dict[str, Path], tmp_path: Path) -> None:
    job["model"].write_bytes(code_running_program("__import__('os').system('true')"))
    proc = _submit(tmp_path, "--input", f"model={job['model']}", "--input", f"data={job['data']}")
    assert proc.returncode == 3, proc.stderr
    assert "UnsafeProgramError at inputs.model: models/model.json: $.graph_module.graph." in proc.stderr
    assert "expr_str: symbolic expression" in proc.stderr


def test_submit_refuses_bad_safetensors_and_no_vet_skips_the_check(
    job: dict[str, Path], tmp_path: Path
) -> None:
    job["data"].write_bytes(_safetensors({"x": {**F32, "data_offsets": [0, 32]}}, bytes(16)))
    files = ["--input", f"model={job['model']}", "--input", f"data={job['data']}"]
    proc = _submit(tmp_path, *files)
    assert proc.returncode == 3, proc.stderr
    assert "MalformedTensorsError at inputs.data: x.data_offsets: [0, 32] is outside" in proc.stderr
    skipped = _submit(tmp_path, *files, "--no-vet")
    # Past vetting, the command goes on to find the wallet, which this home does not have.
    assert skipped.returncode == 5, skipped.stderr
    assert "no keystore" in skipped.stderr
