"""A 256-bit locality-sensitive fingerprint of a result file: close results differ in few bits.

The sketch is a quantized random projection (the p-stable LSH of Datar et al., 2004) over a sparse
±1 projection (CountSketch): every element of every result tensor is hashed, from the seed and its
position, to one of 256 coordinates and a sign; coordinate b sums its signed elements, and, scaled by
the result's norm, is z_b ~ N(0, 1). Bit b is the parity of the bucket of width `width` that z_b
falls into, behind a seeded random offset. Two results whose normalized difference has L2 norm r
differ in bit b with probability about min(E|Δz_b| / width, 1/2) = 0.8·r / width, so the Hamming
distance grows linearly with the relative error until it saturates at 128 (unrelated results):
`width` puts the scale of the test where honest rounding noise ends and cheating begins.

Why not a sign sketch (SimHash): its bits flip with probability θ/π for an angle θ between results,
about 0.3 % per bit at a 1 % relative error, so a bf16 downcast moves one bit in 256 and is
indistinguishable from rounding noise. Why not TOPLOC's top-k values (Ong et al., 2025): they are
compared by a verifier that holds the activations, value by value, with mantissa thresholds; a
contract settling among peers has only fixed-size commitments to compare, and Hamming distance is
what it can compute cheaply (XOR and popcount).

Deterministic across machines: the projection is integer hashing (splitmix64's mixer); values are
widened to float64 exactly and summed in one fixed order (numpy's sequential bincount loop, its
pairwise sum), and every later step is a correctly rounded IEEE-754 operation.
"""

import hashlib
import json
import math
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurolink.verification.errors import FingerprintError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

BITS = 256
SIZE = BITS // 8
# Bucket width in standard deviations of a coordinate; calibrated in docs/VERIFICATION.md.
DEFAULT_WIDTH = 0.002
# Largest Hamming distance between fingerprints that still counts as the same result (of 256 bits).
DEFAULT_TOLERANCE = 24
# Elements hashed per step: bounds memory at a few tens of MiB whatever the result's size.
_CHUNK = 1 << 20
_SAFETENSORS_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",  # widened by hand: numpy has no bfloat16
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
_MAX_HEADER = 100 * 1024 * 1024
_MAP_ABOVE = 64 * 1024 * 1024


def hamming(a: bytes, b: bytes) -> int:
    """Bits in which two fingerprints differ."""
    if len(a) != len(b):
        raise FingerprintError(f"fingerprints of {len(a)} and {len(b)} bytes cannot be compared")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def fingerprint_file(path: Path, seed: bytes, *, width: float = DEFAULT_WIDTH) -> bytes:
    """The 32-byte fingerprint of a result file under `seed`: JSON if it is named *.json, else safetensors."""
    if path.suffix == ".json":
        return fingerprint_json(_load_json(path), seed, width=width)
    return _fingerprint_safetensors(path, seed, width)


def fingerprint_arrays(
    arrays: "Mapping[str, NDArray[Any]]", seed: bytes, *, width: float = DEFAULT_WIDTH
) -> bytes:
    """The fingerprint of in-memory tensors: equal to the fingerprint of their safetensors file."""
    names = sorted(arrays)
    structure = [[n, _dtype_name(arrays[n]), list(arrays[n].shape)] for n in names]
    return _sketch(structure, (arrays[n].reshape(-1) for n in names), seed, width)


def fingerprint_json(value: Any, seed: bytes, *, width: float = DEFAULT_WIDTH) -> bytes:
    """The fingerprint of a JSON result: its numbers are the vector, everything else its structure."""
    import numpy as np

    numbers: list[float] = []
    structure = _json_structure(value, numbers)
    return _sketch(structure, [np.asarray(numbers, dtype=np.float64)], seed, width)


def _json_structure(value: Any, numbers: list[float]) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_structure(value[k], numbers) for k in sorted(value)}
    if isinstance(value, list):
        return [_json_structure(v, numbers) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        numbers.append(float(value))
        return "#"
    return value


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise FingerprintError(f"result {path} is not valid JSON: {exc}") from exc


def _fingerprint_safetensors(path: Path, seed: bytes, width: float) -> bytes:
    import numpy as np

    try:
        size = path.stat().st_size
        # Mapped when large (memory stays bounded), read when small (mapping costs more than reading).
        data: NDArray[np.uint8]
        if size > _MAP_ABOVE:
            data = np.memmap(path, dtype=np.uint8, mode="r")
        else:
            data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise FingerprintError(f"cannot read result {path}: {exc}") from exc
    if data.size < 8:
        raise FingerprintError(f"result {path} is too short for a safetensors file")
    (header_size,) = struct.unpack("<Q", data[:8].tobytes())
    if header_size > min(_MAX_HEADER, data.size - 8):
        raise FingerprintError(
            f"result {path}: safetensors header of {header_size} bytes does not fit the file"
        )
    try:
        header = json.loads(data[8 : 8 + header_size].tobytes())
    except ValueError as exc:
        raise FingerprintError(f"result {path}: safetensors header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise FingerprintError(f"result {path}: safetensors header is not an object")
    header.pop("__metadata__", None)
    body = data[8 + header_size :]
    structure: list[list[Any]] = []
    tensors: list[NDArray[Any]] = []
    for name in sorted(header):
        dtype, shape, raw = _tensor_bytes(path, name, header[name], body)
        structure.append([name, dtype, shape])
        tensors.append(_decode(raw, dtype))
    return _sketch(structure, tensors, seed, width)


def _tensor_bytes(path: Path, name: str, info: Any, body: "NDArray[Any]") -> tuple[str, list[int], Any]:
    try:
        dtype, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FingerprintError(f"result {path}: tensor {name!r} has a malformed header entry") from exc
    if dtype not in _SAFETENSORS_DTYPES:
        raise FingerprintError(f"result {path}: tensor {name!r} has unsupported dtype {dtype!r}")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise FingerprintError(f"result {path}: tensor {name!r} has a malformed shape {shape}")
    itemsize = 2 if dtype == "BF16" else int(_np_dtype(dtype).itemsize)
    if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= body.size):
        raise FingerprintError(f"result {path}: tensor {name!r} lies outside the file")
    if end - begin != math.prod(shape) * itemsize:
        raise FingerprintError(f"result {path}: tensor {name!r} holds {end - begin} bytes, not {shape}")
    return dtype, shape, body[begin:end]


def _np_dtype(name: str) -> "np.dtype[Any]":
    import numpy as np

    return np.dtype(_SAFETENSORS_DTYPES[name])


def _decode(raw: "NDArray[Any]", dtype: str) -> "NDArray[Any]":
    import numpy as np

    values = raw.view(_np_dtype(dtype))
    if dtype == "BF16":
        values = (values.astype(np.uint32) << 16).view(np.float32)
    return values


def _dtype_name(array: "NDArray[Any]") -> str:
    """The safetensors name of a numpy dtype (float32 → F32), as the file's structure names it."""
    import numpy as np

    for name, code in _SAFETENSORS_DTYPES.items():
        if name != "BF16" and np.dtype(code) == array.dtype.newbyteorder("<"):
            return name
    raise FingerprintError(f"dtype {array.dtype} has no safetensors name")


def _sketch(structure: Any, vectors: Iterable["NDArray[Any]"], seed: bytes, width: float) -> bytes:
    import numpy as np

    if not width > 0:
        raise FingerprintError(f"bucket width must be positive, not {width}")
    # Names, dtypes and shapes pick the projection: a result of another structure gets an
    # independent sketch (about 128 bits away), not a comparison of unrelated numbers.
    described = json.dumps(structure, sort_keys=True, separators=(",", ":")).encode()
    key_material = hashlib.sha256(b"neurolink.fingerprint.v1\0" + seed + b"\0" + described).digest()
    key = np.uint64(int.from_bytes(key_material[:8], "little"))
    offsets, mask = _offsets(key_material)
    # Bins 0..255 collect the elements of coordinate b with sign +1, bins 256..511 those with sign -1.
    bins = np.zeros(2 * BITS, dtype=np.float64)
    squares = 0.0
    position = 0
    for chunk in _chunks(vectors):
        values = chunk.astype(np.float64)
        if not np.isfinite(values).all():
            values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        index = np.arange(position, position + values.size, dtype=np.uint64)
        bins += np.bincount(_slot(index, key), weights=values, minlength=2 * BITS)
        # numpy's pairwise sum: one fixed order for a float64 vector, no BLAS.
        squares += float(np.add.reduce(values * values))
        position += values.size
    sums = bins[:BITS] - bins[BITS:]
    norm = math.sqrt(squares)
    z = sums * (math.sqrt(BITS) / norm) if norm > 0 else sums
    # The seeded mask makes coordinates no element hashed to (results of < 256 values) seed-dependent too.
    buckets = np.floor(z / width + offsets).astype(np.int64)
    bits = ((buckets & 1) ^ mask).astype(np.uint8)
    return np.packbits(bits).tobytes()


def _chunks(vectors: Iterable["NDArray[Any]"]) -> Iterator["NDArray[Any]"]:
    for vector in vectors:
        for start in range(0, vector.size, _CHUNK):
            yield vector[start : start + _CHUNK]


def _offsets(key_material: bytes) -> "tuple[NDArray[Any], NDArray[Any]]":
    """256 uniform offsets in [0, 1) (53-bit integers scaled exactly) and 256 mask bits, from the key."""
    import numpy as np

    stream = hashlib.shake_256(b"offsets\0" + key_material).digest(8 * BITS)
    words = np.frombuffer(stream, dtype="<u8")
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53, (words & np.uint64(1)).astype(np.int64)


def _slot(index: "NDArray[Any]", key: "np.uint64") -> "NDArray[Any]":
    """Coordinate and sign of each element position, 9 bits from the top of a keyed multiply-xorshift
    (two rounds of splitmix64's mixer): unpredictable before the seed is known, cheap after."""
    import numpy as np

    x = (index ^ key) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(31))) * np.uint64(0x94D049BB133111EB)
    slots: NDArray[Any] = (x >> np.uint64(55)).astype(np.intp)
    return slots
