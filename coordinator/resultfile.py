"""A fetched result file: what it is (JSON or safetensors, by its bytes), a fitting name, its key figures."""

import json
import struct
from pathlib import Path
from typing import Any, Final

from neurolink.results import METRICS_KEY

# A safetensors header is 8 bytes of little-endian length, then that much JSON; cap what is read.
MAX_HEADER: Final = 16 * 1024 * 1024


def _safetensors_header(path: Path) -> dict[str, Any] | None:
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return None
        (length,) = struct.unpack("<Q", head)
        if not 2 <= length <= min(MAX_HEADER, path.stat().st_size - 8):
            return None
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, ValueError):
            return None
    return header if isinstance(header, dict) else None


def read_json(path: Path) -> Any:
    """The result parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError):
        return None


def verified_metrics(path: Path) -> dict[str, Any]:
    """The workload's figures a safetensors result carries in its metadata (part of the agreed digest)."""
    header = _safetensors_header(path)
    metadata = header.get("__metadata__") if header is not None else None
    carried = metadata.get(METRICS_KEY) if isinstance(metadata, dict) else None
    try:
        metrics = json.loads(carried) if isinstance(carried, str) else None
    except ValueError:
        return {}
    return metrics if isinstance(metrics, dict) else {}


def describe(path: Path) -> tuple[str, dict[str, Any]]:
    """(file extension, key figures) of the result at `path`: scalars of a JSON object, tensors' shapes
    and the scalar metrics a safetensors result carries."""
    header = _safetensors_header(path)
    if header is not None:
        tensors = {k: v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
        shapes = {name: f"{t.get('dtype')} {t.get('shape')}" for name, t in sorted(tensors.items())}
        scalars = {k: v for k, v in verified_metrics(path).items() if isinstance(v, int | float)}
        return ".safetensors", {"tensors": len(tensors), **shapes, **scalars}
    data = read_json(path)
    if isinstance(data, dict):
        return ".json", {k: v for k, v in data.items() if isinstance(v, str | int | float | bool)}
    if data is not None:
        return ".json", {}
    return ".bin", {}


def place(path: Path, job_id: int) -> tuple[Path, dict[str, Any]]:
    """Rename a fetched result to `job-<id>-result.<ext>` beside it; returns the new path and key figures."""
    suffix, figures = describe(path)
    named = path.with_name(f"job-{job_id}-result{suffix}")
    path.replace(named)
    return named, figures
