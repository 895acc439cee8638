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


def test_a_trained_result_shows_the_figures_it_carries(tmp_path: Path) -> None:
    import torch

    from coordinator.resultfile import verified_metrics
    from node.worker.canonical import tensors_bytes

    raw = tmp_path / ".fetched"
    carried = {"epoch_loss": [1.5, 0.75], "final_loss": 0.75, "steps": 8}
    raw.write_bytes(tensors_bytes({"w": torch.ones(2, 2)}, carried))
    assert verified_metrics(raw) == carried
    path, figures = place(raw, 4)
    assert figures == {"tensors": 1, "w": "F32 [2, 2]", "final_loss": 0.75, "steps": 8}
    assert verified_metrics(path) == carried


def test_metrics_that_are_not_a_json_object_are_ignored(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save

    from coordinator.resultfile import verified_metrics
    from neurolink.results import METRICS_KEY

    for carried in ("not json", "[1, 2]"):
        raw = tmp_path / "r"
        raw.write_bytes(save({"w": torch.ones(1)}, {METRICS_KEY: carried}))
        assert verified_metrics(raw) == {}
        assert describe(raw) == (".safetensors", {"tensors": 1, "w": "F32 [1]"})
