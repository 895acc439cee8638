"""The .pt2 vetting: clean archives load; anything that could unpickle or run code is refused first."""

import io
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from neurolink.pt2 import UnsafeProgramError, check_archive
from node.worker.samples import program_bytes

LIMIT = 1 << 26


class _Touch:
    """Unpickling this creates a file: the stand-in for any code an attacker would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def clean() -> bytes:
    return program_bytes()


def _rewrite(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the archive with members (paths below its top folder) replaced or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    root = src.namelist()[0].split("/")[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            rel = info.filename.split("/", 1)[1]
            dst.writestr(info.filename, replace.pop(rel, src.read(info)))
        for rel, content in replace.items():
            dst.writestr(f"{root}/{rel}", content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}


def test_clean_archive_passes_and_loads(clean: bytes) -> None:
    import torch

    check_archive(clean, LIMIT)
    module = torch.export.load(io.BytesIO(clean)).module(check_guards=False)
    assert module(torch.zeros(3, 8)).shape == (3, 4)


def test_pickled_sample_inputs_run_code_in_torch_but_are_refused_here(clean: bytes, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-torch"
    evil = _rewrite(clean, {"data/sample_inputs/model.pt": pickle.dumps(_Touch(marker))})
    archive = tmp_path / "evil.pt2"
    archive.write_bytes(evil)
    # Proof the payload is live: plain torch.export.load runs it (in a throwaway process).
    subprocess.run(
        [sys.executable, "-c", f"import torch; torch.export.load({str(archive)!r})"],
        capture_output=True,
        check=False,
    )
    assert marker.exists(), "the payload should run under an unvetted torch.export.load"
    marker.unlink()
    with pytest.raises(UnsafeProgramError, match="pickled sample inputs"):
        check_archive(evil, LIMIT)
    assert not marker.exists()


def test_pickled_weight_is_refused(clean: bytes, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    members = _members(clean)
    config = json.loads(members["data/weights/model_weights_config.json"])
    entry = next(iter(config["config"].values()))
    entry["use_pickle"] = True
    evil = _rewrite(
        clean,
        {
            "data/weights/model_weights_config.json": json.dumps(config).encode(),
            f"data/weights/{entry['path_name']}": pickle.dumps(_Touch(marker)),
        },
    )
    with pytest.raises(UnsafeProgramError, match="is a pickled object"):
        check_archive(evil, LIMIT)
    assert not marker.exists()


def test_pickle_bytes_under_a_raw_weight_name_are_refused(clean: bytes, tmp_path: Path) -> None:
    evil = _rewrite(clean, {"data/weights/weight_0": pickle.dumps(_Touch(tmp_path / "x"))})
    with pytest.raises(UnsafeProgramError, match="looks like a pickle"):
        check_archive(evil, LIMIT)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"extra/payload.pkl": b"\x80\x04."}, "not allowed"),
        ({"data/constants/custom_obj_0": b"x"}, "not allowed"),
        ({"data/weights/weight_99": b"\x00" * 4}, "not listed in its config"),
    ],
)
def test_unexpected_members_are_refused(clean: bytes, extra: dict[str, bytes], message: str) -> None:
    with pytest.raises(UnsafeProgramError, match=message):
        check_archive(_rewrite(clean, extra), LIMIT)


def test_non_aten_call_target_is_refused(clean: bytes) -> None:
    program = json.loads(_members(clean)["models/model.json"])
    program["graph_module"]["graph"]["nodes"][0]["target"] = "builtins.exec"
    evil = _rewrite(clean, {"models/model.json": json.dumps(program).encode()})
    with pytest.raises(UnsafeProgramError, match=r"'builtins\.exec', not an ATen operator"):
        check_archive(evil, LIMIT)


def test_malformed_archives_are_refused(clean: bytes) -> None:
    with pytest.raises(UnsafeProgramError, match=r"not a \.pt2"):
        check_archive(b"not a zip", LIMIT)
    with pytest.raises(UnsafeProgramError, match="unpacks to"):
        check_archive(clean, 100)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a/../../etc/x", b"")
    with pytest.raises(UnsafeProgramError, match="unsafe path"):
        check_archive(out.getvalue(), LIMIT)
