"""Fetched results get a name that says what they are, and their key figures are shown."""

import json
import struct
from pathlib import Path

import pytest

from coordinator.resultfile import describe, place
from node.worker.samples import dataset_bytes


def test_a_json_result_is_named_json_and_shows_its_scalars(tmp_path: Path) -> None:
    raw = tmp_path / ".fetched"
    raw.write_text(json.dumps({"kind": "benchmark", "size": 64, "sha256": ["ab", "cd"]}))
    path, figures = place(raw, 7)
    assert path == tmp_path / "job-7-result.json" and not raw.exists()
    assert figures == {"kind": "benchmark", "size": 64}


def test_a_safetensors_result_is_named_so_and_lists_its_tensors(tmp_path: Path) -> None:
    raw = tmp_path / ".fetched"
    raw.write_bytes(dataset_bytes(rows=16, in_features=8, classes=4))
    path, figures = place(raw, 3)
    assert path.name == "job-3-result.safetensors"
    assert figures["tensors"] == 2 and figures["x"].endswith("[16, 8]")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02", struct.pack("<Q", 2**62) + b"{}", struct.pack("<Q", 4) + b"nope", b"[1, 2"],
)
def test_anything_else_is_binary_with_no_figures(tmp_path: Path, data: bytes) -> None:
    raw = tmp_path / "r"
    raw.write_bytes(data)
    assert describe(raw) == (".bin", {})
