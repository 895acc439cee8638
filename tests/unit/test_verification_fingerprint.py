"""The result fingerprint: stable across runs and formats, blind to rounding noise, sensitive to change."""

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from neurolink.verification.errors import FingerprintError
from neurolink.verification.fingerprint import (
    BITS,
    DEFAULT_TOLERANCE,
    _decode,
    fingerprint_arrays,
    fingerprint_file,
    hamming,
)

SEED = b"\x01" * 32


PINNED = "8a7795d84bebfc5f10ca101049dc0889f80f0bfc8db506b117a2324170e0ddef"


def _result(seed: int = 0, rows: int = 64, cols: int = 300) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "logits": rng.standard_normal((rows, cols)).astype(np.float32),
        "bias": rng.random(7).astype(np.float32),
    }


def _relative(arrays: dict[str, np.ndarray], scale: float, seed: int = 9) -> dict[str, np.ndarray]:
    """`arrays` with noise of relative L2 size `scale` on every tensor (noise seeds apart from data's)."""
    rng = np.random.default_rng(1000 + seed)
    out = {}
    for name, a in arrays.items():
        noise = rng.standard_normal(a.shape)
        out[name] = (a + scale * np.linalg.norm(a) / np.linalg.norm(noise) * noise).astype(a.dtype)
    return out


def test_hamming_counts_differing_bits() -> None:
    assert hamming(b"\x00\xff", b"\x00\xff") == 0
    assert hamming(b"\x0f\x00", b"\x00\x01") == 5
    with pytest.raises(FingerprintError, match="cannot be compared"):
        hamming(b"\x00", b"\x00\x00")


def test_fingerprint_is_32_bytes_and_pinned(tmp_path: Path) -> None:
    # A known answer: any change to the hashing, decoding or arithmetic shows here, on any machine.
    # Integer-made values (no RNG or libm whose output could move between versions), a fixed width.
    values = ((np.arange(6000, dtype=np.int64) * 7919 % 1009) - 504).astype(np.float32) / 97
    path = tmp_path / "result.safetensors"
    save_file({"out": values.reshape(60, 100), "n": np.arange(5, dtype=np.int64)}, str(path))
    fp = fingerprint_file(path, SEED, width=0.002)
    assert len(fp) == BITS // 8 == 32
    assert fp == fingerprint_file(path, SEED, width=0.002)
    assert fp.hex() == PINNED


def test_file_and_arrays_agree_and_metadata_is_ignored(tmp_path: Path) -> None:
    arrays = _result()
    path = tmp_path / "result.safetensors"
    save_file(arrays, str(path), metadata={"producer": "anything"})
    assert fingerprint_file(path, SEED) == fingerprint_arrays(arrays, SEED)


def test_seed_picks_an_independent_sketch() -> None:
    arrays = _result()
    a, b = fingerprint_arrays(arrays, SEED), fingerprint_arrays(arrays, b"\x02" * 32)
    assert 90 < hamming(a, b) < 166


@pytest.mark.parametrize("scale", [1e-7, 1e-6, 1e-5])
def test_rounding_noise_stays_within_tolerance(scale: float) -> None:
    arrays = _result()
    base = fingerprint_arrays(arrays, SEED)
    for seed in range(20):
        assert (
            hamming(base, fingerprint_arrays(_relative(arrays, scale, seed), SEED)) <= DEFAULT_TOLERANCE // 2
        )


@pytest.mark.parametrize("scale", [5e-3, 1e-2, 1e-1, 1.0])
def test_real_change_goes_beyond_tolerance(scale: float) -> None:
    arrays = _result()
    base = fingerprint_arrays(arrays, SEED)
    for seed in range(20):
        assert hamming(base, fingerprint_arrays(_relative(arrays, scale, seed), SEED)) > DEFAULT_TOLERANCE


def test_distance_grows_with_the_error() -> None:
    arrays = _result()
    base = fingerprint_arrays(arrays, SEED)
    distances = [hamming(base, fingerprint_arrays(_relative(arrays, s), SEED)) for s in (1e-5, 1e-4, 1e-3)]
    assert distances == sorted(distances) and distances[-1] > distances[0]


def test_other_structure_or_dtype_is_unrelated() -> None:
    arrays = _result()
    base = fingerprint_arrays(arrays, SEED)
    renamed = {"output": arrays["logits"], "bias": arrays["bias"]}
    halved = {k: v.astype(np.float16) for k, v in arrays.items()}
    for other in (renamed, halved):
        assert hamming(base, fingerprint_arrays(other, SEED)) > DEFAULT_TOLERANCE


def test_scale_invariant_and_zero_safe() -> None:
    arrays = _result()
    doubled = {k: v * 2 for k, v in arrays.items()}
    assert fingerprint_arrays(arrays, SEED) == fingerprint_arrays(doubled, SEED)
    zeros = {"z": np.zeros(10, np.float32)}
    assert fingerprint_arrays(zeros, SEED) == fingerprint_arrays(zeros, SEED)


def test_bf16_tensors_are_decoded_exactly(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file as save_torch

    values = torch.randn(40, 40, generator=torch.Generator().manual_seed(1)).bfloat16()
    raw = np.frombuffer(values.view(torch.uint8).numpy().tobytes(), dtype=np.uint8)
    assert np.array_equal(_decode(raw, "BF16").reshape(40, 40), values.float().numpy())
    path = tmp_path / "bf16.safetensors"
    save_torch({"w": values}, str(path))
    assert fingerprint_file(path, SEED) == fingerprint_file(path, SEED)


def test_json_results_use_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"gflops": [10.0, 20.0, 30.5], "name": "gemm"}))
    close = tmp_path / "close.json"
    close.write_text(json.dumps({"gflops": [10.0, 20.0, 30.5000001], "name": "gemm"}))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"gflops": [10.0, 20.0, 30.5], "name": "conv"}))
    base = fingerprint_file(path, SEED)
    assert hamming(base, fingerprint_file(close, SEED)) <= DEFAULT_TOLERANCE
    assert hamming(base, fingerprint_file(other, SEED)) > DEFAULT_TOLERANCE


def _header(header: dict[str, object], body: int) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + b"\0" * body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"abc", "too short"),
        ((10**9).to_bytes(8, "little") + b"{}", "does not fit"),
        ((2).to_bytes(8, "little") + b"[]", "not an object"),
        ((3).to_bytes(8, "little") + b"{x}", "not JSON"),
        (_header({"t": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, 1), "unsupported dtype"),
        (_header({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, 4), "holds 4 bytes"),
        (_header({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 40]}}, 4), "outside the file"),
        (_header({"t": {"dtype": "F32"}}, 4), "malformed header entry"),
        (_header({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4), "malformed shape"),
    ],
)
def test_malformed_results_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "result.safetensors"
    path.write_bytes(content)
    with pytest.raises(FingerprintError, match=message):
        fingerprint_file(path, SEED)


def test_missing_or_bad_json_results_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FingerprintError, match="cannot read"):
        fingerprint_file(tmp_path / "absent.safetensors", SEED)
    bad = tmp_path / "result.json"
    bad.write_text("{nope")
    with pytest.raises(FingerprintError, match="not valid JSON"):
        fingerprint_file(bad, SEED)
    with pytest.raises(FingerprintError, match="width must be positive"):
        fingerprint_arrays(_result(), SEED, width=0.0)
