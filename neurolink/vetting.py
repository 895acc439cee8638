"""Static vetting of a job's input files: the checks a provider runs before executing, runnable by requesters.

Nothing here imports torch or loads a tensor: sizes come from `stat` before a byte is read, a .pt2
program goes through `neurolink.pt2.check_archive`, and a safetensors file is judged by its header
alone (offsets, dtypes and shapes against the file's size). Every error is a `VettingError` whose
`code` matches the worker's error code for the same refusal and whose `field` names the input
(and, inside it, the offending entry).
"""

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurolink.errors import VettingError
from neurolink.pt2 import check_archive
from neurolink.spec import JobSpec

# safetensors' own cap on the JSON header; the dtypes safetensors.torch can load, with their sizes.
MAX_HEADER_BYTES = 100_000_000
SAFETENSORS_DTYPES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
    "BOOL": 1, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1, "C64": 8,
}  # fmt: skip
_PROGRAM_ROLES = {"program"}


class MissingInputError(VettingError):
    """An input the spec names was not supplied, or its file is gone (worker code MissingInput)."""

    code = "MissingInput"


class InputTooLargeError(VettingError):
    """An input exceeds the spec's `limits.max_input_bytes` (worker code InputTooLarge)."""

    code = "InputTooLarge"


class MalformedTensorsError(VettingError):
    """A safetensors input has a header that does not describe its bytes (worker code InvalidJob)."""

    code = "InvalidJob"


def vet_job(spec: JobSpec, inputs: Mapping[str, Path], *, partial: bool = False) -> None:
    """Raise a VettingError unless every input file would pass a provider's static checks.

    `inputs` maps the spec's input names to local files. With `partial`, inputs the caller has no
    file for (already stored by CID) are skipped instead of refused.
    """
    roles = {name: role for role, name in spec.input_roles().items()}
    for name in sorted(inputs):
        if name not in spec.inputs:
            raise MissingInputError("the spec has no input of this name", field=f"inputs.{name}")
    for name in sorted(spec.inputs):
        path = inputs.get(name)
        if path is None:
            if partial:
                continue
            raise MissingInputError("no file supplied for this input", field=f"inputs.{name}")
        vet_input(name, path, spec.limits.max_input_bytes, program=roles.get(name) in _PROGRAM_ROLES)


def vet_input(name: str, path: Path, max_bytes: int, *, program: bool) -> None:
    """One input file: its size first (from stat), then a .pt2 archive or a safetensors header."""
    field = f"inputs.{name}"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MissingInputError(f"cannot stat {path}: {exc.strerror}", field=field) from exc
    if not path.is_file():
        raise MissingInputError(f"{path} is not a regular file", field=field)
    if size > max_bytes:
        raise InputTooLargeError(f"{size} bytes, over the limit of {max_bytes}", field=field)
    if program:
        try:
            check_archive(path.read_bytes(), max_uncompressed=max_bytes)
        except VettingError as exc:
            exc.field = f"{field}: {exc.field}" if exc.field else field
            raise
    else:
        check_safetensors(path, field)


def check_safetensors(path: Path, field: str = "") -> None:
    """Read only the header of `path` and check it describes the rest of the file exactly."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise MalformedTensorsError("shorter than a safetensors header", field=field)
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise MalformedTensorsError(
                f"header length {length} runs past the file's {size} bytes", field=f"{field}: header"
            )
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedTensorsError(f"header is not JSON: {exc}", field=f"{field}: header") from exc
    if not isinstance(header, dict):
        raise MalformedTensorsError("header is not a JSON object", field=f"{field}: header")
    _check_layout(header, size - 8 - length, field)


def _check_layout(header: dict[str, Any], data_len: int, field: str) -> None:
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise MalformedTensorsError(
            "__metadata__ must map strings to strings", field=f"{field}: __metadata__"
        )
    spans: list[tuple[int, int, str]] = []
    for key, entry in header.items():
        at = f"{field}: {key}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise MalformedTensorsError("entry must be {dtype, shape, data_offsets}", field=at)
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
            raise MalformedTensorsError(f"unknown dtype {str(dtype)[:20]!r}", field=f"{at}.dtype")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise MalformedTensorsError("shape must be a list of non-negative integers", field=f"{at}.shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int for n in offsets)):
            raise MalformedTensorsError("data_offsets must be [begin, end]", field=f"{at}.data_offsets")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            raise MalformedTensorsError(
                f"[{begin}, {end}] is outside the {data_len} data bytes", field=f"{at}.data_offsets"
            )
        nbytes = math.prod(shape) * SAFETENSORS_DTYPES[dtype]
        if end - begin != nbytes:
            raise MalformedTensorsError(
                f"{dtype}{shape} needs {nbytes} bytes, the offsets give {end - begin}",
                field=f"{at}.data_offsets",
            )
        spans.append((begin, end, key))
    covered = 0
    for begin, end, key in sorted(spans):
        if begin != covered:
            what = "overlaps the previous tensor" if begin < covered else f"leaves a gap at byte {covered}"
            raise MalformedTensorsError(what, field=f"{field}: {key}.data_offsets")
        covered = end
    if covered != data_len:
        raise MalformedTensorsError(
            f"tensors cover {covered} of {data_len} data bytes", field=f"{field}: data"
        )
