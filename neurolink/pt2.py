"""Safe torch.export (.pt2) archives: write one without pickles, vet one before torch reads it.

`torch.export.load` unpickles weights marked `use_pickle`, custom objects and the sample inputs (the
latter falls back to `weights_only=False`, i.e. arbitrary code), and `ExportedProgram.module()` runs
the archive's `guards_code` strings as Python when sample inputs exist. So an archive is accepted
only if it is a plain zip of known members, every weight and constant is a raw tensor payload,
the sample-inputs member is empty, and every graph node calls an ATen op or a Python operator.
"""

import io
import json
import re
import zipfile
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from neurolink.errors import ExitCode, NeuroLinkError

if TYPE_CHECKING:
    from torch.export import ExportedProgram

MAX_MEMBERS = 4096
# Raw tensor payloads written by torch.export.save; everything else is rejected by name.
_FIXED = {"archive_format", "archive_version", "byteorder", ".data/version", ".data/serialization_id"}
_PAYLOAD = re.compile(r"^data/(weights|constants)/(weight|tensor)_\d+$")
_CONFIG = {
    "data/weights/model_weights_config.json": "weights",
    "data/constants/model_constants_config.json": "constants",
}
_MODEL = "models/model.json"
_SAMPLE_INPUTS = "data/sample_inputs/model.pt"
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol ≥ 2, or a nested torch.save zip
_SAFE_TARGET = re.compile(r"^(torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+|_operator\.[a-z_]+)$")


class UnsafeProgramError(NeuroLinkError):
    """A .pt2 archive is malformed or carries something that could run code when loaded."""

    exit_code = ExitCode.INVALID_INPUT


def save_program(program: "ExportedProgram", path: str | io.BytesIO) -> None:
    """Write `program` as a .pt2 archive NeuroLink accepts: no sample inputs, hence no pickle."""
    import torch

    program.example_inputs = None
    torch.export.save(program, path)


def check_archive(data: bytes, max_uncompressed: int) -> None:
    """Raise UnsafeProgramError unless `data` is a pickle-free single-model .pt2 archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnsafeProgramError(f"program is not a .pt2 (zip) archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if not infos or len(infos) > MAX_MEMBERS:
            raise UnsafeProgramError(f"program archive has {len(infos)} members")
        total = sum(i.file_size for i in infos)
        if total > max_uncompressed:
            raise UnsafeProgramError(f"program unpacks to {total} bytes, more than {max_uncompressed}")
        members = _members_by_path(infos)
        for path in members:
            _check_member(path)
        if archive.read(members["archive_format"]).strip() != b"pt2":
            raise UnsafeProgramError("program archive_format is not pt2")
        if archive.read(members["byteorder"]).strip() != b"little":
            raise UnsafeProgramError("program archive is not little-endian")
        if members.get(_SAMPLE_INPUTS) is not None and members[_SAMPLE_INPUTS].file_size:
            raise UnsafeProgramError(
                f"program carries pickled sample inputs ({_SAMPLE_INPUTS}); save it with save_program()"
            )
        referenced: set[str] = set()
        for config_path, kind in _CONFIG.items():
            if config_path in members:
                referenced |= _check_payload_config(archive.read(members[config_path]), kind)
        payloads = {p for p in members if _PAYLOAD.match(p)}
        for path in payloads:
            head = archive.read(members[path])[:4]
            if head.startswith(_PICKLE_MAGIC):
                raise UnsafeProgramError(f"program member {path} looks like a pickle")
        if payloads != referenced:
            extra = sorted(payloads ^ referenced)[0]
            raise UnsafeProgramError(f"program member {extra} is not listed in its config (or missing)")
        _check_graph(archive.read(members[_MODEL]))


def _members_by_path(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    roots = {PurePosixPath(i.filename).parts[0] for i in infos}
    if len(roots) != 1:
        raise UnsafeProgramError(f"program archive has {len(roots)} top-level folders, expected one")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            raise UnsafeProgramError(f"program member {info.filename!r} has an unsafe path")
        if info.is_dir():
            continue
        rel = "/".join(parts[1:])
        if rel in members:
            raise UnsafeProgramError(f"program member {rel} appears twice")
        members[rel] = info
    for required in ("archive_format", "byteorder", _MODEL):
        if required not in members:
            raise UnsafeProgramError(f"program archive lacks {required}")
    return members


def _check_member(path: str) -> None:
    if path in _FIXED or path in _CONFIG or path in {_MODEL, _SAMPLE_INPUTS} or _PAYLOAD.match(path):
        return
    raise UnsafeProgramError(f"program member {path} is not allowed (only raw tensors and JSON)")


def _check_payload_config(raw: bytes, kind: str) -> set[str]:
    config = _json(raw, f"{kind} config").get("config")
    if not isinstance(config, dict):
        raise UnsafeProgramError(f"program {kind} config has no config object")
    paths: set[str] = set()
    for fqn, meta in config.items():
        if not isinstance(meta, dict):
            raise UnsafeProgramError(f"program {kind} entry {fqn!r} is not an object")
        if meta.get("use_pickle") is not False or meta.get("tensor_meta") is None:
            raise UnsafeProgramError(f"program {kind} entry {fqn!r} is a pickled object")
        paths.add(f"data/{kind}/{meta.get('path_name')}")
    return paths


def _check_graph(raw: bytes) -> None:
    program = _json(raw, "graph")
    graph_module = program.get("graph_module")
    if not isinstance(graph_module, dict) or not isinstance(graph_module.get("graph"), dict):
        raise UnsafeProgramError("program graph is missing")
    graph = graph_module["graph"]
    if graph.get("custom_obj_values"):
        raise UnsafeProgramError("program uses custom (script) objects")
    for node in graph.get("nodes", []):
        target = node.get("target") if isinstance(node, dict) else None
        if not isinstance(target, str) or not _SAFE_TARGET.match(target):
            raise UnsafeProgramError(f"program calls {target!r}, not an ATen operator")


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsafeProgramError(f"program {what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UnsafeProgramError(f"program {what} is not a JSON object")
    return value
