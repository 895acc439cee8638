"""Reads a requester's spec file: inputs named by path or CID, fully checked before anything is uploaded."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from neurolink.spec import MAX_SPEC_BYTES, JobSpec, SpecError

if TYPE_CHECKING:
    from neurolink.content import ContentStore

# Stands in for each file input while the spec is validated, before the file has its real CID.
_PLACEHOLDER_CID = "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


@dataclass(frozen=True)
class SpecDraft:
    """A valid spec whose inputs `files` still have to be stored to get their CIDs."""

    data: dict[str, object]
    files: dict[str, Path]

    def vet(self) -> None:
        """Run a provider's static input checks on the files (inputs given by CID are skipped)."""
        from neurolink.vetting import vet_job

        vet_job(self.placeholder_spec(), self.files, partial=True)

    def placeholder_spec(self) -> JobSpec:
        """The spec with a stand-in CID for each file: every field but the files' CIDs checked."""
        inputs = {**self._inputs(), **dict.fromkeys(self.files, _PLACEHOLDER_CID)}
        return JobSpec.from_json(json.dumps({**self.data, "inputs": inputs}))

    def _inputs(self) -> dict[str, object]:
        inputs = self.data.get("inputs") or {}
        return dict(inputs) if isinstance(inputs, dict) else {}

    def upload(self, store: "ContentStore") -> JobSpec:
        """Store every input file and return the spec with their CIDs."""
        inputs = self._inputs()
        for name, file in self.files.items():
            inputs[name] = store.put_file(file)
        return JobSpec.from_json(json.dumps({**self.data, "inputs": inputs}))


def _is_cid(value: object) -> bool:
    from neurolink.content import InvalidCIDError, parse_cid

    if not isinstance(value, str):
        return False
    try:
        parse_cid(value)
    except InvalidCIDError:
        return False
    return True


def read_spec(path: Path, extra_inputs: Mapping[str, Path] | None = None) -> SpecDraft:
    """Parse `path`; each input is a CID or a file path relative to the spec, and must exist.

    Raises SpecError naming the problem: an unreadable, oversized or non-JSON file, a missing input file
    ("no file …"), or the first invalid field.
    """
    try:
        with path.open("rb") as spec_file:
            raw = spec_file.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read job spec {path}: {exc.strerror}") from exc
    # Before parsing: web3 raises the recursion limit to 100000, where a deeply nested file overflows
    # the C stack in json.loads (a segfault, not an error); a spec within the size limit cannot.
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"job spec {path} is more than the {MAX_SPEC_BYTES} bytes allowed")
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SpecError(f"job spec {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"job spec {path} must be a JSON object")
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise SpecError(f"job spec {path}: inputs must be an object of NAME: CID or file path")
    files: dict[str, Path] = {}
    for name, value in inputs.items():
        if _is_cid(value):
            continue
        if not isinstance(value, str):
            raise SpecError(f"job spec {path}: input {name!r} must be a CID or a file path")
        files[name] = path.parent / value
    files.update(extra_inputs or {})
    for name, file in files.items():
        if not file.is_file():
            raise SpecError(f"input {name!r}: no file {file}")
    draft = SpecDraft(data, files)
    draft.placeholder_spec()  # every other field checked now, before any upload
    return draft
